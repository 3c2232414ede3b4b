// BackendConfigPolicy commonHttpProtocolOptions.maxHeadersCount end to end, against real
// upstreams on 127.0.0.1: a response head within the count passes, one over it (repeated
// names counted per field) is a 502 upstream_protocol_error (UPE) and is not retried, and an
// upgrade's 101 or refusal is held to the same count.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import net, { type AddressInfo } from "node:net";
import { once } from "node:events";
import { type HttpService, startHttpService } from "../support/http-service.ts";
import { rawExchange } from "../support/raw-exchange.ts";
import { type GatewayUnderTest, ask, backendYaml, catchAllOnYaml, hostGatewayYaml, startGateway } from "./harness.ts";
import { RecordingTelemetry } from "./recording-telemetry.ts";

/** `/fields/N` answers 200 with N header fields besides Date, Connection, Keep-Alive and Content-Length; `/cookies/N` with N Set-Cookie lines. */
let many: HttpService;
let requestsSeen = 0;
/** Answers an upgrade with a 101 (`/switch/N`) or a 403 (`/refuse/N`) carrying N more header fields. */
let upgrades: net.Server;
const upgradeSockets = new Set<net.Socket>();
let gw: GatewayUnderTest;
const recorder = new RecordingTelemetry();

/** Date, Connection, Keep-Alive and Content-Length: what node adds to every answer of `many`. */
const NODE_FIELDS = 4;
const LIMIT = 10;

const countPolicy = (backend: string): string => `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: BackendConfigPolicy
metadata: {name: ${backend}, namespace: default}
spec:
  targetRefs: [{group: gateway.tollgate.dev, kind: Backend, name: ${backend}}]
  commonHttpProtocolOptions: {maxHeadersCount: ${LIMIT}}
`;

const site = (name: string, fields = ""): string => hostGatewayYaml(name, `${name}.example`) + catchAllOnYaml(name, name, name, fields);

before(async () => {
  many = await startHttpService((req, res) => {
    requestsSeen++;
    req.resume();
    const [, kind, n] = (req.url ?? "").split("/");
    const count = Number(n);
    if (kind === "cookies") res.setHeader("set-cookie", Array.from({ length: count }, (_, i) => `c${i}=v`));
    else for (let i = 0; i < count; i++) res.setHeader(`x-field-${i}`, String(i));
    res.setHeader("content-length", "2");
    res.end("ok");
  });
  upgrades = net.createServer((socket) => {
    upgradeSockets.add(socket);
    socket.on("close", () => upgradeSockets.delete(socket));
    socket.once("data", (head: Buffer) => {
      const [, kind, n] = /^GET \/(\w+)\/(\d+) /.exec(head.toString("latin1")) ?? [];
      const extra = Array.from({ length: Number(n) }, (_, i) => `x-field-${i}: ${i}\r\n`).join("");
      if (kind === "switch") socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n${extra}\r\n`);
      else socket.end(`HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n${extra}\r\n`);
    });
  });
  upgrades.listen(0, "127.0.0.1");
  await once(upgrades, "listening");
  gw = await startGateway(
    backendYaml("counted", many.port) +
      countPolicy("counted") +
      site("counted", "retry: {attempts: 3}") +
      backendYaml("uncounted", many.port) +
      site("uncounted") +
      backendYaml("switches", (upgrades.address() as AddressInfo).port) +
      countPolicy("switches") +
      site("switches"),
    recorder,
  );
});

after(async () => {
  await gw.close();
  for (const socket of upgradeSockets) socket.destroy();
  upgrades.close();
  await many.close();
});

test("a response head within maxHeadersCount passes; one field over is a 502 upstream_protocol_error (UPE), not retried", async () => {
  const within = await ask(gw.port, { path: `/fields/${LIMIT - NODE_FIELDS}`, headers: { host: "counted.example" } });
  assert.equal(within.status, 200);
  assert.equal(within.headers[`x-field-${LIMIT - NODE_FIELDS - 1}`], String(LIMIT - NODE_FIELDS - 1));

  const before = requestsSeen;
  const over = await ask(gw.port, { path: `/fields/${LIMIT - NODE_FIELDS + 1}`, headers: { host: "counted.example" } });
  assert.equal(over.status, 502);
  assert.equal(over.json()["error"], "upstream_protocol_error");
  assert.match(String(over.json()["message"]), /maxHeadersCount/);
  // A protocol error is not retried, whatever the retry policy.
  assert.equal(requestsSeen - before, 1);
  const exchange = await recorder.endOf(`/fields/${LIMIT - NODE_FIELDS + 1}`);
  assert.equal(exchange.responseFlags, "UPE");
  assert.equal(exchange.errorType, "upstream_protocol_error");
  assert.equal(exchange.attempts.length, 1);
  assert.equal(exchange.attempts[0]!.errorType, "upstream_protocol_error");
});

test("repeated header lines count one each; a backend without the policy takes any count", async () => {
  const cookies = await ask(gw.port, { path: `/cookies/${LIMIT - NODE_FIELDS + 1}`, headers: { host: "counted.example" } });
  assert.equal(cookies.status, 502);
  const fewer = await ask(gw.port, { path: `/cookies/${LIMIT - NODE_FIELDS}`, headers: { host: "counted.example" } });
  assert.equal(fewer.status, 200);
  assert.equal(fewer.headers["set-cookie"]?.length, LIMIT - NODE_FIELDS);
  const free = await ask(gw.port, { path: "/fields/50", headers: { host: "uncounted.example" } });
  assert.equal(free.status, 200);
  assert.equal(free.headers["x-field-49"], "49");
});


const upgradeRequest = (path: string): string =>
  `GET ${path} HTTP/1.1\r\nhost: switches.example\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;

test("an upgrade's 101 and its refusal are held to maxHeadersCount too", async () => {
  // 101 with upgrade and connection: two fields of the count.
  const tooMany = await rawExchange(gw.port, upgradeRequest(`/switch/${LIMIT - 1}`));
  assert.match(tooMany, /^HTTP\/1\.1 502 /);
  assert.match(tooMany, /"error":"upstream_protocol_error"/);
  const switched = await recorder.endOf(`/switch/${LIMIT - 1}`);
  assert.equal(switched.responseFlags, "UPE");
  assert.equal(switched.attempts[0]!.errorType, "upstream_protocol_error");

  // At the count, the tunnel opens.
  const socket = net.connect(gw.port, "127.0.0.1");
  await once(socket, "connect");
  socket.write(upgradeRequest(`/switch/${LIMIT - 2}`));
  const [head] = (await once(socket, "data")) as [Buffer];
  assert.match(head.toString("latin1"), /^HTTP\/1\.1 101 /);
  socket.destroy();
  assert.equal((await recorder.endOf(`/switch/${LIMIT - 2}`)).responseFlags, "");

  const refused = await rawExchange(gw.port, upgradeRequest(`/refuse/${LIMIT - 1}`));
  assert.match(refused, /^HTTP\/1\.1 502 /);
  assert.equal((await recorder.endOf(`/refuse/${LIMIT - 1}`)).responseFlags, "UPE");
  // Within the count, the refusal is relayed.
  const relayed = await rawExchange(gw.port, upgradeRequest(`/refuse/${LIMIT - 2}`));
  assert.match(relayed, /^HTTP\/1\.1 403 /);
});
