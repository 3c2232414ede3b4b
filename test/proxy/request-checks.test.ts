// Requests node's parser lets through but the gateway must not route as they stand, sent
// over raw TCP because HTTP clients refuse to produce them: a fragment in the target,
// duplicate Host, an absolute-form target whose authority disagrees with Host, transfer
// codings other than chunked, Expect on HTTP/1.0 and unknown expectations, and h2c upgrades
// that carry a body.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { noopTelemetry } from "../../src/telemetry/hooks.ts";
import { GATEWAY_YAML, type GatewayUnderTest, backendYaml, ref, startGateway } from "./harness.ts";

let pub: TestUpstream;
let internal: TestUpstream;
let gw: GatewayUnderTest;
/** An upstream that answers every upgrade with `101 Upgrade: h2c`, and the request heads it read. */
let h2cUpstream: net.Server;
const h2cHeads: string[] = [];
/** What the telemetry hooks saw at each request's end. */
const ended: { method: string; status: number; errorType: string | undefined }[] = [];

const hostRoute = (name: string, hostname: string, rules: string): string => `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: default}
spec:
  parentRefs: [{name: edge}]
  hostnames: [${hostname}]
  rules:
${rules}`;

const config = (): string =>
  `${GATEWAY_YAML}${backendYaml("pub", pub.port)}${backendYaml("internal", internal.port)}${hostRoute(
    "public",
    "public.example",
    `    - matches: [{path: {type: PathPrefix, value: /admin}}]
      filters:
        - type: ExtensionRef
          extensionRef: {group: gateway.kgateway.dev, kind: DirectResponse, name: forbidden}
    - backendRefs: [${ref("pub")}]
`,
  )}${hostRoute("internal", "internal.example", `    - backendRefs: [${ref("internal")}]\n`)}${backendYaml(
    "h2c",
    (h2cUpstream.address() as net.AddressInfo).port,
  )}${hostRoute("h2c", "h2c.example", `    - backendRefs: [${ref("h2c")}]\n`)}${hostRoute(
    "anything",
    "anything.example",
    `    - matches: [{path: {type: RegularExpression, value: ".*"}}]\n      backendRefs: [${ref("pub")}]\n`,
  )}---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: DirectResponse
metadata: {name: forbidden, namespace: default}
spec:
  status: 403
  body: "admin is closed"
`;

before(async () => {
  pub = await startUpstream("pub");
  internal = await startUpstream("internal");
  h2cUpstream = net.createServer((socket) => {
    let head = "";
    socket.setEncoding("latin1");
    socket.on("error", () => {});
    socket.on("data", (chunk: string) => {
      head += chunk;
      if (!head.includes("\r\n\r\n")) return;
      h2cHeads.push(head.toLowerCase());
      // The protocol switched to is h2c unless the request names another in X-Answer-Upgrade.
      const chosen = /\r\nx-answer-upgrade: *([^\r]*)/i.exec(head)?.[1] ?? "h2c";
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${chosen}\r\n\r\n`);
    });
  });
  await new Promise<void>((resolve) => h2cUpstream.listen(0, "127.0.0.1", resolve));
  gw = await startGateway(config(), {
    ...noopTelemetry,
    onRequestEnd(exchange) {
      ended.push({ method: exchange.method, status: exchange.status, errorType: exchange.errorType });
    },
  });
});

after(async () => {
  await gw?.close();
  await pub?.close();
  await internal?.close();
  await new Promise((resolve) => h2cUpstream?.close(resolve));
});

interface RawReply {
  /** Interim (1xx) status lines received before the final response. */
  readonly interim: string[];
  readonly status: number;
  readonly headers: string;
  readonly body: string;
}

/**
 * Writes `text` (and `then` once the final response's headers or a 100 arrive, when given)
 * and reads one response: interim 1xx heads, then the final head and its Content-Length body.
 */
function exchange(text: string, then?: string): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(gw.port, "127.0.0.1");
    const interim: string[] = [];
    let buffered = "";
    let sentRest = then === undefined;
    socket.setEncoding("latin1");
    socket.on("error", reject);
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      for (;;) {
        const headEnd = buffered.indexOf("\r\n\r\n");
        if (headEnd < 0) return;
        const head = buffered.slice(0, headEnd);
        const status = Number(head.split(" ", 2)[1]);
        if (status >= 100 && status < 200) {
          interim.push(head.split("\r\n", 1)[0]!);
          buffered = buffered.slice(headEnd + 4);
          if (!sentRest) {
            sentRest = true;
            socket.write(then!);
          }
          continue;
        }
        const length = /\r\ncontent-length: *(\d+)/i.exec(head);
        const body = buffered.slice(headEnd + 4);
        if (length === null || body.length < Number(length[1])) return;
        socket.destroy();
        resolve({ interim, status, headers: head.toLowerCase(), body: body.slice(0, Number(length[1])) });
        return;
      }
    });
    socket.on("close", () => reject(new Error(`connection closed before a full response; received ${JSON.stringify(buffered)}`)));
    socket.write(text);
  });
}

/** Writes `text` and resolves with the first response head's status line and lower-cased headers. */
function firstHead(text: string): Promise<{ status: number; headers: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(gw.port, "127.0.0.1");
    let buffered = "";
    socket.setEncoding("latin1");
    socket.on("error", reject);
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      const headEnd = buffered.indexOf("\r\n\r\n");
      if (headEnd < 0) return;
      socket.destroy();
      const head = buffered.slice(0, headEnd);
      resolve({ status: Number(head.split(" ", 2)[1]), headers: head.toLowerCase() });
    });
    socket.on("close", () => reject(new Error(`connection closed before a response head; received ${JSON.stringify(buffered)}`)));
    socket.write(text);
  });
}

function errorCode(reply: RawReply): unknown {
  return (JSON.parse(reply.body) as { error?: unknown }).error;
}

function echoed(reply: RawReply): { url: string; headers: Record<string, string>; bodyBytes: number; upstream: string } {
  return JSON.parse(reply.body) as { url: string; headers: Record<string, string>; bodyBytes: number; upstream: string };
}

const seen = (): number => pub.requests.length + internal.requests.length;

/** A request line and Host header for `target`, without the blank line. */
const get = (target: string): string => `GET ${target} HTTP/1.1\r\nHost: public.example`;

/** Sends each request head and checks it was refused with `status` and `code` before any upstream saw it. */
async function expectRefused(heads: readonly string[], status: number, code: string): Promise<RawReply[]> {
  const before = seen();
  const replies: RawReply[] = [];
  for (const head of heads) {
    const reply = await exchange(`${head}\r\n\r\n`);
    assert.equal(reply.status, status, head);
    assert.equal(errorCode(reply), code, head);
    replies.push(reply);
  }
  assert.equal(seen(), before, "no refused request reached an upstream");
  return replies;
}

/** Resolves once the telemetry hooks ended a request with this method and status. */
async function telemetryEnded(method: string, status: number): Promise<{ errorType: string | undefined }> {
  for (let i = 0; i < 200; i++) {
    const hit = ended.find((e) => e.method === method && e.status === status);
    if (hit !== undefined) return hit;
    await sleep(10);
  }
  throw new Error(`no request ${method} ${status} reached onRequestEnd; saw ${JSON.stringify(ended)}`);
}

describe("request checks before routing", () => {
  test("a #fragment in the target gets 400 and cannot slip past a PathPrefix rule", async () => {
    const closed = await exchange("GET /admin HTTP/1.1\r\nHost: public.example\r\n\r\n");
    assert.equal(closed.status, 403, "the control: /admin is answered by its DirectResponse");
    const replies = await expectRefused(["/admin#x", "/public#frag", "http://public.example/admin#x"].map(get), 400, "invalid_target");
    for (const reply of replies) assert.match(reply.headers, /\r\nconnection: close/);
  });

  test("dot segments, merged slashes and escaped unreserved characters are resolved before routing and upstream", async () => {
    for (const target of ["/public/../admin", "/public/%2e%2e/admin", "//admin", "/%61dmin", "/./admin/x"]) {
      const reply = await exchange(`GET ${target} HTTP/1.1\r\nHost: public.example\r\n\r\n`);
      assert.equal(reply.status, 403, `${target} is the /admin rule's`);
    }
    const moved = await exchange("GET /a/b/../c//d/%7Euser?x=/../y HTTP/1.1\r\nHost: public.example\r\n\r\n");
    assert.equal(moved.status, 200);
    assert.equal(echoed(moved).url, "/a/c/d/~user?x=/../y", "the query is never touched");
    const encodedSlash = await exchange("GET /api/group%2fproject HTTP/1.1\r\nHost: public.example\r\n\r\n");
    assert.equal(encodedSlash.status, 200);
    assert.equal(echoed(encodedSlash).url, "/api/group%2Fproject", "an escaped slash in an identifier is kept");
  });

  test("a path whose other reading (escaped slashes decoded, ;params dropped) picks another rule gets 400 invalid_path", async () => {
    await expectRefused(["/public/..%2Fadmin", "/public/..%5cadmin", "/admin%2Fsecret", "/admin%5Csecret", "/admin;x/secret", "/public/..;/admin"].map(get), 400, "invalid_path");
    // %2F and ; together have more than one reading (nginx decodes and keeps `;`; Tomcat
    // drops `;params` up to the next `/` or `;` before decoding): refused whatever the rules.
    await expectRefused(["/public/..%2Fadmin/..;x%2F..%2Fpublic", "/public/..;%2F..%2Fpublic/admin", "/files/a%2Fb;v=1"].map(get), 400, "invalid_path");
    // The same shapes are forwarded when both readings pick the same rule.
    for (const target of ["/files/a%2Fb", "/api;jsessionid=1/x"]) {
      const reply = await exchange(`GET ${target} HTTP/1.1\r\nHost: public.example\r\n\r\n`);
      assert.equal(reply.status, 200, target);
      assert.equal(echoed(reply).url, target);
    }
  });

  test("a backslash is read as / (as Envoy does), so it cannot hide a dot segment", async () => {
    const reply = await exchange("GET /public\\..\\admin HTTP/1.1\r\nHost: public.example\r\n\r\n");
    assert.equal(reply.status, 403);
  });

  test("a % that starts no escape gets 400 invalid_path: it could mint an escape the upstream decodes", async () => {
    await expectRefused(["/public/%2%65%2%65/admin", "/%%32%65%%32%65/admin", "/x%zz", "/x%4"].map(get), 400, "invalid_path");
  });

  test("an escaped NUL in the path gets 400 invalid_path: a C server may end the path there", async () => {
    await expectRefused(["/admin%00", "/admin%00/x", "/public/%00?q=1"].map(get), 400, "invalid_path");
  });

  test("a target that is neither an absolute path nor an absolute URI gets 400 invalid_target; OPTIONS * matches no route", async () => {
    // The asterisk-form is exactly `*`: with a query, or on another method, it is no target.
    for (const line of ["GET */../admin", "OPTIONS *?x=1", "OPTIONS *?", "GET *"]) {
      const reply = await exchange(`${line} HTTP/1.1\r\nHost: public.example\r\n\r\n`);
      assert.equal(reply.status, 400, line);
      assert.equal(errorCode(reply), "invalid_target", line);
    }
    // OPTIONS * names the server, not a resource: no rule serves it, not even one whose
    // pattern matches anything (Envoy answers 404 as well).
    for (const host of ["public.example", "anything.example"]) {
      const star = await exchange(`OPTIONS * HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      assert.equal(star.status, 404, host);
      assert.equal(errorCode(star), "no_route", host);
    }
    const everything = await exchange("GET /any/thing HTTP/1.1\r\nHost: anything.example\r\n\r\n");
    assert.equal(everything.status, 200, "the pattern route itself serves paths");
  });

  test("an empty host in an absolute-form target, or a port outside 1-65535, gets 400 invalid_host", async () => {
    await expectRefused(
      [
        "GET http:///p HTTP/1.1\r\nHost: public.example",
        "GET http://:80/p HTTP/1.1\r\nHost: public.example",
        "GET http://public.example:99999/p HTTP/1.1\r\nHost: public.example",
        "GET /p HTTP/1.1\r\nHost: public.example:0",
        "GET /p HTTP/1.1\r\nHost: public.example:8o",
        "GET /p HTTP/1.1\r\nHost: internal.example:1:2",
        "GET /p HTTP/1.1\r\nHost: user@public.example",
      ],
      400,
      "invalid_host",
    );
    const ipv6 = await exchange("GET /p HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
    assert.equal(ipv6.status, 404, "a bracketed IPv6 host is valid (and has no route here)");
    const emptyPort = await exchange("GET /p HTTP/1.1\r\nHost: public.example:\r\n\r\n");
    assert.equal(emptyPort.status, 200, "an empty port is allowed (RFC 3986 §3.2.3)");
  });

  test("more than one Host header gets 400 invalid_host, whatever their case", async () => {
    await expectRefused(
      ["Host: public.example\r\nHost: internal.example", "host: internal.example\r\nHOST: public.example"].map((hosts) => `GET /p HTTP/1.1\r\n${hosts}`),
      400,
      "invalid_host",
    );
  });

  test("an HTTP/1.1 request without Host gets 400 missing_host; HTTP/1.0 without Host is routed", async () => {
    const missing = await exchange("GET /p HTTP/1.1\r\n\r\n");
    assert.equal(missing.status, 400);
    assert.equal(errorCode(missing), "missing_host");
    // No Host, no hostname to match: the listener has no route for it, which is a 404.
    const old = await exchange("GET /p HTTP/1.0\r\n\r\n");
    assert.equal(old.status, 404);
    assert.equal(errorCode(old), "no_route");
  });

  test("an absolute-form target is routed on its authority, and the upstream gets that authority as Host", async () => {
    const before = internal.requests.length;
    const reply = await exchange("GET http://public.example/p?q=1 HTTP/1.1\r\nHost: internal.example\r\n\r\n");
    assert.equal(reply.status, 200);
    const got = echoed(reply);
    assert.equal(got.upstream, "pub");
    assert.equal(got.url, "/p?q=1");
    assert.equal(got.headers.host, "public.example");
    assert.equal(got.headers["x-forwarded-host"], "public.example");
    assert.equal(internal.requests.length, before, "the Host header's route saw nothing");
  });

  test("an absolute-form target whose query starts before any `/` asks for `/` with all of that query", async () => {
    const reply = await exchange("GET http://public.example?next=/p/q HTTP/1.1\r\nHost: internal.example\r\n\r\n");
    assert.equal(reply.status, 200);
    const got = echoed(reply);
    assert.equal(got.upstream, "pub");
    assert.equal(got.url, "/?next=/p/q");
    assert.equal(got.headers.host, "public.example");
  });

  test("an absolute-form target with userinfo sends neither the credential nor the received Host upstream", async () => {
    const reply = await exchange("GET http://user:secret@public.example:8080/p HTTP/1.1\r\nHost: internal.example\r\n\r\n");
    assert.equal(reply.status, 200);
    const got = echoed(reply);
    assert.equal(got.headers.host, "public.example:8080");
    assert.doesNotMatch(JSON.stringify(got.headers), /secret|internal\.example/);
  });

  test("a transfer coding other than chunked gets 501 before anything is forwarded", async () => {
    const before = seen();
    const reply = await exchange(
      "POST /p HTTP/1.1\r\nHost: public.example\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
    assert.equal(reply.status, 501);
    assert.equal(errorCode(reply), "unsupported_transfer_coding");
    assert.equal((await telemetryEnded("POST", 501)).errorType, "501");
    assert.match(reply.headers, /\r\nconnection: close/);
    assert.equal(seen(), before);
    // The control: chunked alone, in any case, is forwarded with its body.
    const chunked = await exchange("POST /p HTTP/1.1\r\nHost: public.example\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    assert.equal(chunked.status, 200);
    assert.equal(echoed(chunked).bodyBytes, 5);
  });

  test("HTTP/1.0 Expect: 100-continue gets no interim response, and its body is forwarded", async () => {
    const reply = await exchange("POST /p HTTP/1.0\r\nHost: public.example\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello");
    assert.deepEqual(reply.interim, []);
    assert.equal(reply.status, 200);
    assert.equal(echoed(reply).bodyBytes, 5);
    assert.equal(echoed(reply).headers.expect, undefined, "Expect is answered here, not forwarded");
  });

  test("HTTP/1.1 Expect: 100-continue gets 100 Continue before the body is sent", async () => {
    const reply = await exchange("POST /p HTTP/1.1\r\nHost: public.example\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", "hello");
    assert.deepEqual(reply.interim, ["HTTP/1.1 100 Continue"]);
    assert.equal(reply.status, 200);
    assert.equal(echoed(reply).bodyBytes, 5);
  });

  test("an expectation other than 100-continue gets 417 with a JSON body", async () => {
    const before = seen();
    const reply = await exchange("POST /p HTTP/1.1\r\nHost: public.example\r\nExpect: 200-ok\r\nContent-Length: 5\r\n\r\nhello");
    assert.equal(reply.status, 417);
    assert.equal(errorCode(reply), "expectation_failed");
    assert.equal(seen(), before);
    assert.equal((await telemetryEnded("POST", 417)).errorType, undefined, "a 4xx is the client's error: no error.type");
  });

  test("an h2c upgrade is declined: the request and its body are proxied as HTTP/1.1 without the upgrade headers", async () => {
    const reply = await exchange(
      "POST /p HTTP/1.1\r\nHost: public.example\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert.equal(reply.status, 200);
    const got = echoed(reply);
    assert.equal(got.bodyBytes, 5);
    assert.equal(got.headers.upgrade, undefined);
    assert.equal(got.headers["http2-settings"], undefined);
    assert.doesNotMatch(got.headers.connection ?? "", /upgrade/i);
  });

  test("a declined h2c upgrade closes the connection after its response: node drops what was pipelined behind it", async () => {
    const socket = net.connect(gw.port, "127.0.0.1");
    socket.setEncoding("latin1");
    let received = "";
    socket.on("data", (chunk: string) => (received += chunk));
    socket.on("error", () => {});
    socket.write(
      "GET /p/h2c-first HTTP/1.1\r\nHost: public.example\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\nGET /h2c-second HTTP/1.1\r\nHost: public.example\r\n\r\n",
    );
    await once(socket, "close");
    assert.equal((received.match(/HTTP\/1\.1 \d{3} /g) ?? []).length, 1, `one answer, then the close: ${received}`);
    assert.match(received, /^HTTP\/1\.1 200 /);
    assert.match(received.toLowerCase(), /\r\nconnection: close/);
    assert.ok(pub.requests.some((r) => r.url === "/p/h2c-first"));
    assert.ok(!pub.requests.some((r) => r.url === "/h2c-second"), "the pipelined request never reached the upstream");
  });

  test("an Upgrade header without Connection: upgrade is a plain request: the connection stays open for what is pipelined behind it", async () => {
    const socket = net.connect(gw.port, "127.0.0.1");
    socket.setEncoding("latin1");
    let received = "";
    socket.on("data", (chunk: string) => (received += chunk));
    socket.on("error", () => {});
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write("GET /first HTTP/1.1\r\nHost: public.example\r\nUpgrade: websocket\r\n\r\nGET /second HTTP/1.1\r\nHost: public.example\r\n\r\n");
    // The second response follows the first one's body on the same line.
    for (let i = 0; i < 500 && (received.match(/HTTP\/1\.1 /g) ?? []).length < 2; i++) await sleep(10);
    socket.destroy();
    assert.equal((received.match(/HTTP\/1\.1 200 /g) ?? []).length, 2, received);
    assert.match(received, /"url":"\/first"/);
    assert.match(received, /"url":"\/second"/);
    assert.doesNotMatch(received, /\r\nconnection: close/i);
  });

  test("h2c is stripped from an Upgrade list, and a 101 to a protocol the client did not offer gets 502", async () => {
    const mixed = await exchange(
      "GET /ws HTTP/1.1\r\nHost: h2c.example\r\nConnection: Upgrade\r\nUpgrade: websocket, h2c\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    assert.match(h2cHeads.at(-1) ?? "", /\r\nupgrade: websocket\r\n/, "only websocket is offered upstream");
    assert.equal(mixed.status, 502, "the upstream's 101 to h2c is not relayed");
    assert.equal(errorCode(mixed), "upstream_protocol_error");
    const other = await exchange("GET /x HTTP/1.1\r\nHost: h2c.example\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n");
    assert.match(h2cHeads.at(-1) ?? "", /\r\nupgrade: foo\r\n/);
    assert.equal(other.status, 502);
    assert.equal(errorCode(other), "upstream_protocol_error");
  });

  test("CONNECT gets 501 with a JSON body instead of a silently closed socket", async () => {
    const before = seen();
    const reply = await exchange("CONNECT public.example:443 HTTP/1.1\r\nHost: public.example:443\r\n\r\n");
    assert.equal(reply.status, 501);
    assert.equal(errorCode(reply), "unsupported_method");
    assert.equal(seen(), before);
    assert.equal((await telemetryEnded("CONNECT", 501)).errorType, "501", "the refusal is reported like any request");
  });

  test("the HTTP/2 connection preface gets 505 unsupported_http_version", async () => {
    const reply = await exchange("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    assert.equal(reply.status, 505);
    assert.equal(errorCode(reply), "unsupported_http_version");
  });

  test("a refused upgrade is cut even when the client keeps its side open, and its telemetry ends", async () => {
    const endsBefore = ended.filter((e) => e.method === "CONNECT").length;
    const socket = net.connect({ port: gw.port, host: "127.0.0.1", allowHalfOpen: true });
    socket.setEncoding("latin1");
    let received = "";
    socket.on("data", (chunk: string) => (received += chunk));
    socket.on("error", () => {});
    // Our side is never ended: a client that keeps it open must not keep the request open.
    const serverClosed = new Promise((resolve) => socket.on("end", resolve));
    socket.write("CONNECT half-open.example:443 HTTP/1.1\r\nHost: half-open.example:443\r\n\r\n");
    await serverClosed;
    assert.match(received, /^HTTP\/1\.1 501 /);
    for (let i = 0; i < 500 && ended.filter((e) => e.method === "CONNECT").length === endsBefore; i++) await sleep(10);
    socket.destroy();
    assert.equal(ended.filter((e) => e.method === "CONNECT").length, endsBefore + 1, "onRequestEnd ran once for the half-open CONNECT");
  });

  test("a 101 may name the offered protocol with or without a version", async () => {
    const reply = await exchange("GET /x HTTP/1.1\r\nHost: h2c.example\r\nConnection: Upgrade\r\nUpgrade: h2c/1\r\n\r\n");
    assert.equal(reply.status, 502, "h2c with a version is still h2c: not upgraded to");
    const answer = (offered: string, chosen: string) =>
      firstHead(`GET /x HTTP/1.1\r\nHost: h2c.example\r\nConnection: Upgrade\r\nUpgrade: ${offered}\r\nX-Answer-Upgrade: ${chosen}\r\n\r\n`);
    const cases: Array<[offered: string, chosen: string, status: number]> = [
      ["foo/1", "foo", 101],
      ["foo", "foo/2", 101],
      ["foo/1", "foo/1", 101],
      ["bar, Foo/1", "foo", 101],
      ["foo/1", "foo/2", 502],
      ["foo/1", "food", 502],
      ["foo", "foo, bar", 502],
    ];
    for (const [offered, chosen, status] of cases) {
      const head = await answer(offered, chosen);
      assert.match(h2cHeads.at(-1) ?? "", new RegExp(`\\r\\nupgrade: ${offered.toLowerCase()}\\r\\n`), `the offer ${offered} reached the upstream`);
      assert.equal(head.status, status, `offered ${offered}, the upstream chose ${chosen}`);
      if (status === 101) assert.match(head.headers, new RegExp(`\\r\\nupgrade: ${chosen.toLowerCase()}(\\r\\n|$)`));
    }
  });

  test("a WebSocket upgrade is checked the same way: duplicate Host gets 400 before any upstream", async () => {
    const before = seen();
    const reply = await exchange(
      "GET /ws HTTP/1.1\r\nHost: public.example\r\nHost: internal.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    assert.equal(reply.status, 400);
    assert.equal(errorCode(reply), "invalid_host");
    assert.equal(seen(), before);
  });
});
