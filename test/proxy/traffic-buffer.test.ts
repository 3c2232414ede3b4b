// kgateway TrafficPolicy `buffer` end to end, against a real upstream on 127.0.0.1: a body is
// read whole before it is forwarded (the upstream gets it with its length), a larger one is
// refused with 413 before a byte of it goes upstream, a Gateway's buffer covers routes that
// set none, and `disable: {}` exempts a rule from it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { type GrpcAuthzService, startGrpcAuthzService } from "../support/grpc-authz-service.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, ref, routeYaml, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";
import { RecordingTelemetry } from "./recording-telemetry.ts";

const rule = (name: string, prefix: string): string => `    - name: ${name}
      matches: [{path: {type: PathPrefix, value: ${prefix}}}]
      backendRefs: [${ref("app")}]
`;

let app: TestUpstream;
let authz: GrpcAuthzService;
let gw: GatewayUnderTest;
const recorder = new RecordingTelemetry();

before(async () => {
  app = await startUpstream("app");
  authz = await startGrpcAuthzService();
  gw = await startGateway(
    GATEWAY_YAML +
      backendYaml("app", app.port) +
      backendYaml("authz", authz.port) +
      routeYaml(
        rule("small", "/small") +
          rule("exempt", "/exempt") +
          rule("gateway", "/gateway") +
          `    - name: checked
      matches: [{path: {type: PathPrefix, value: /checked}}]
      filters:
      - type: ExternalAuth
        externalAuth: {protocol: GRPC, backendRef: ${ref("authz")}, forwardBody: {maxSize: 4096}}
      backendRefs: [${ref("app")}]
`,
      ) +
      targetedTrafficPolicyYaml("checked", "HTTPRoute", "r", "  buffer: {maxRequestSize: 16}\n").replace("name: r}]", "name: r, sectionName: checked}]") +
      targetedTrafficPolicyYaml("edge", "Gateway", "edge", '  buffer: {maxRequestSize: "1Ki"}\n') +
      targetedTrafficPolicyYaml("small", "HTTPRoute", "r", "  buffer: {maxRequestSize: 16}\n").replace("name: r}]", "name: r, sectionName: small}]") +
      targetedTrafficPolicyYaml("exempt", "HTTPRoute", "r", "  buffer: {disable: {}}\n").replace("name: r}]", "name: r, sectionName: exempt}]"),
    recorder,
  );
});

after(async () => {
  await gw.close();
  await authz.close();
  await app.close();
});

const upstreamSaw = (reply: { json(): Record<string, unknown> }) => reply.json() as { headers: Record<string, string>; bodyBytes: number };

test("a chunked body within the limit reaches the upstream whole, with its length", async () => {
  const reply = await ask(gw.port, { method: "POST", path: "/small/a", headers: { "transfer-encoding": "chunked" }, body: "0123456789abcdef" });
  assert.equal(reply.status, 200);
  const seen = upstreamSaw(reply);
  assert.equal(seen.bodyBytes, 16);
  assert.equal(seen.headers["content-length"], "16");
  assert.equal(seen.headers["transfer-encoding"], undefined);
});

test("a body over the limit is refused with 413: at once when its length says so, after reading when it is chunked", async () => {
  const before = app.requests.length;
  const declared = await ask(gw.port, { method: "POST", path: "/small/declared", body: "x".repeat(17) });
  assert.equal(declared.status, 413);
  assert.deepEqual(declared.json(), { error: "request_body_too_large", message: "the request body is larger than the 16 bytes the route buffers" });
  const unread = await recorder.endOf("/small/declared");
  assert.equal(unread.bytesReceived, 0, "not a byte of the declared body was read");
  assert.equal(unread.localReplyDetails, "request_payload_too_large");
  const chunked = await ask(gw.port, { method: "POST", path: "/small/chunked", headers: { "transfer-encoding": "chunked" }, body: "x".repeat(17) });
  assert.equal(chunked.status, 413);
  assert.equal(app.requests.length, before, "nothing of either reached the upstream");
  assert.equal((await recorder.endOf("/small/chunked")).localReplyDetails, "request_payload_too_large");
});

test("a refused body is left unread: the 413 closes a kept-alive connection", { timeout: 30_000 }, async () => {
  const socket = net.connect(gw.port, "127.0.0.1");
  socket.write("POST /small/big HTTP/1.1\r\nHost: a.example\r\nContent-Length: 67108864\r\n\r\n" + "x".repeat(1024));
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", () => {});
  await once(socket, "close");
  const answer = Buffer.concat(chunks).toString("latin1");
  assert.match(answer, /^HTTP\/1\.1 413 /);
  assert.match(answer, /\r\nconnection: close\r\n/i);
});

test("the Gateway's buffer covers a rule no route policy buffers; disable: {} exempts a rule", async () => {
  assert.equal((await ask(gw.port, { method: "POST", path: "/gateway/ok", body: "x".repeat(1024) })).status, 200);
  assert.equal((await ask(gw.port, { method: "POST", path: "/gateway/big", body: "x".repeat(1025) })).status, 413);
  const exempt = await ask(gw.port, { method: "POST", path: "/exempt/big", headers: { "transfer-encoding": "chunked" }, body: "x".repeat(4096) });
  assert.equal(exempt.status, 200, "over the Gateway's 1Ki, but the rule's policy turns its buffer off");
  assert.equal(upstreamSaw(exempt).bodyBytes, 4096);
});

/** A POST that asks for 100 Continue before it sends its body: the raw answer, once the gateway closes the connection. */
async function expectContinue(path: string, length: number): Promise<string> {
  const socket = net.connect(gw.port, "127.0.0.1");
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    // The body goes only once the gateway asked for it.
    if (Buffer.concat(chunks).toString("latin1").startsWith("HTTP/1.1 100 Continue\r\n\r\n") && chunks.length === 1) socket.write("x".repeat(length));
  });
  socket.on("error", () => {});
  socket.write(`POST ${path} HTTP/1.1\r\nHost: a.example\r\nExpect: 100-continue\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`);
  await once(socket, "close");
  return Buffer.concat(chunks).toString("latin1");
}

test("100 Continue is sent for a body within the limit, and not for one over it", async () => {
  const within = await expectContinue("/small/continue", 16);
  assert.match(within, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
  const over = await expectContinue("/small/no-continue", 17);
  assert.match(over, /^HTTP\/1\.1 413 /, "refused at once, without asking for the body");
});

test("with an ExternalAuth check that forwards the body, a body over the buffer is refused before it is read or checked", async () => {
  const checks = authz.seen.length;
  const over = await expectContinue("/checked/over", 100);
  assert.match(over, /^HTTP\/1\.1 413 /);
  assert.match(over, /the 16 bytes the route buffers/);
  assert.equal(authz.seen.length, checks, "the authorization service was not asked");
  const within = await ask(gw.port, { method: "POST", path: "/checked/within", headers: { "transfer-encoding": "chunked" }, body: "0123456789abcdef" });
  assert.equal(within.status, 200);
  assert.equal(authz.seen.at(-1)!.request.attributes.request.http.body, "0123456789abcdef");
  assert.equal(upstreamSaw(within).headers["content-length"], "16");
  const chunkedOver = await ask(gw.port, { method: "POST", path: "/checked/chunked", headers: { "transfer-encoding": "chunked" }, body: "x".repeat(17) });
  assert.equal(chunkedOver.status, 413);
  assert.equal(chunkedOver.json()["message"], "the request body is larger than the 16 bytes the route buffers");
});
