// Header hygiene: hop-by-hop removal both ways, X-Forwarded-* replaced when untrusted and
// appended when trusted, Host preserved.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, catchAllRouteYaml, startGateway } from "./harness.ts";

let up: TestUpstream;
let untrusted: GatewayUnderTest;
let trusted: GatewayUnderTest;

const config = (extra: string): string => `${GATEWAY_YAML}${backendYaml("up", up.port)}${catchAllRouteYaml("up")}${extra}`;

before(async () => {
  up = await startUpstream("up");
  untrusted = await startGateway(config(""));
  trusted = await startGateway(
    config(`---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata: {name: trust, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge}]
  trustForwardedHeaders: true
`),
  );
});

after(async () => {
  await untrusted?.close();
  await trusted?.close();
  await up?.close();
});

type Echo = { headers: Record<string, string | undefined> };

/** Sends exact header lines (node's client would rewrite Connection and friends). */
async function rawEcho(port: number, lines: string[]): Promise<Echo> {
  const socket = net.connect(port, "127.0.0.1");
  let received = "";
  socket.setEncoding("utf8");
  socket.on("data", (c: string) => (received += c));
  socket.write(`GET /echo HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`);
  await once(socket, "close");
  return JSON.parse(received.split("\r\n\r\n", 2)[1]!) as Echo;
}

describe("hop-by-hop headers", () => {
  test("are removed from requests, with every header the client's Connection names", async () => {
    const seen = await rawEcho(untrusted.port, [
      "Host: app.example.com",
      "Connection: close, X-Client-Hop",
      "X-Client-Hop: secret",
      "Keep-Alive: timeout=30",
      "Proxy-Authorization: Basic dXNlcjpwYXNz",
      "Proxy-Connection: keep-alive",
      "TE: trailers",
      "Trailer: X-Checksum",
      "X-End-To-End: kept",
    ]);
    const h = seen.headers;
    assert.equal(h["x-client-hop"], undefined);
    assert.equal(h["keep-alive"], undefined);
    assert.equal(h["proxy-authorization"], undefined);
    assert.equal(h["proxy-connection"], undefined);
    assert.equal(h.te, undefined);
    assert.equal(h.trailer, undefined);
    assert.equal(h["x-end-to-end"], "kept");
    assert.equal(h.host, "app.example.com", "Host is preserved");
  });

  test("are removed from responses, with every header the upstream's Connection names", async () => {
    const r = await ask(untrusted.port, { path: "/hop-by-hop" });
    assert.equal(r.status, 200);
    assert.equal(r.headers["x-hop-secret"], undefined);
    assert.equal(r.headers["proxy-authenticate"], undefined);
    assert.equal(r.headers["proxy-connection"], undefined);
    assert.notEqual(r.headers["keep-alive"], "timeout=5");
    assert.equal(r.headers["x-end-to-end"], "passes");
  });
});

describe("X-Request-Id", () => {
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  test("a request without one gets a random UUID; a client's own is kept", async () => {
    const generated = (await rawEcho(untrusted.port, ["Host: app.example.com", "Connection: close"])).headers["x-request-id"];
    assert.match(String(generated), UUID);
    const again = (await rawEcho(untrusted.port, ["Host: app.example.com", "Connection: close"])).headers["x-request-id"];
    assert.notEqual(again, generated, "one id per request");
    assert.equal((await rawEcho(untrusted.port, ["Host: app.example.com", "Connection: close", "X-Request-Id: client-7"])).headers["x-request-id"], "client-7");
  });

  test("one the client names in Connection is hop-by-hop: replaced by a generated one, which is forwarded", async () => {
    for (const own of [[], ["X-Request-Id: client-7"]]) {
      const seen = await rawEcho(untrusted.port, ["Host: app.example.com", "Connection: close, X-Request-Id", ...own]);
      assert.match(String(seen.headers["x-request-id"]), UUID, JSON.stringify(own));
    }
  });
});

describe("X-Forwarded-*", () => {
  const spoofed = {
    host: "app.example.com",
    "x-forwarded-for": "203.0.113.7, 198.51.100.2",
    "x-forwarded-proto": "https",
    "x-forwarded-host": "origin.example.com",
    "x-forwarded-port": "443",
    forwarded: "for=203.0.113.7;proto=https",
  };

  test("untrusted (the default): incoming values are replaced, never appended", async () => {
    const h = (await ask(untrusted.port, { path: "/echo", headers: spoofed })).json().headers as Record<string, string>;
    assert.equal(h["x-forwarded-for"], "127.0.0.1");
    assert.equal(h["x-forwarded-proto"], "http");
    assert.equal(h["x-forwarded-host"], "app.example.com");
    assert.equal(h["x-forwarded-port"], undefined);
    assert.equal(h.forwarded, undefined);
  });

  test("trusted: the proxy appends its own hop to each list", async () => {
    const h = (await ask(trusted.port, { path: "/echo", headers: spoofed })).json().headers as Record<string, string>;
    assert.equal(h["x-forwarded-for"], "203.0.113.7, 198.51.100.2, 127.0.0.1");
    assert.equal(h["x-forwarded-proto"], "https, http");
    assert.equal(h["x-forwarded-host"], "origin.example.com, app.example.com");
    assert.equal(h["x-forwarded-port"], "443");
    assert.equal(h.forwarded, "for=203.0.113.7;proto=https");
  });

  test("trusted: a Forwarded that is not well-formed is not passed on, where a lenient parser could read a forged element", async () => {
    // The client sent `for=198.51.100.7;x="`; a proxy in front appended its element after the open quote.
    const forged = { host: "app.example.com", forwarded: 'for=198.51.100.7;x=";for=forged.example, for=203.0.113.9' };
    const h = (await ask(trusted.port, { path: "/echo", headers: forged })).json().headers as Record<string, string>;
    assert.equal(h.forwarded, undefined);
    assert.equal(h["x-forwarded-for"], "127.0.0.1", "the peer, appended as ever");
  });

  test("without incoming values both modes send the peer, scheme and Host", async () => {
    for (const gw of [untrusted, trusted]) {
      const h = (await ask(gw.port, { path: "/echo", headers: { host: "plain.example.com" } })).json().headers as Record<string, string>;
      assert.equal(h["x-forwarded-for"], "127.0.0.1");
      assert.equal(h["x-forwarded-proto"], "http");
      assert.equal(h["x-forwarded-host"], "plain.example.com");
    }
  });
});

describe("X-Envoy-*", () => {
  const envoyHeaders = { host: "app.example.com", "x-envoy-original-path": "/admin", "x-envoy-retry-on": "5xx", "x-envvy-lookalike": "kept" };

  test("untrusted (the default): a client's are dropped, other x- headers pass", async () => {
    const h = (await ask(untrusted.port, { path: "/echo", headers: envoyHeaders })).json().headers as Record<string, string>;
    assert.equal(h["x-envoy-original-path"], undefined);
    assert.equal(h["x-envoy-retry-on"], undefined);
    assert.equal(h["x-envvy-lookalike"], "kept");
  });

  test("trusted: a proxy in front set them, so they pass", async () => {
    const h = (await ask(trusted.port, { path: "/echo", headers: envoyHeaders })).json().headers as Record<string, string>;
    assert.equal(h["x-envoy-original-path"], "/admin");
    assert.equal(h["x-envoy-retry-on"], "5xx");
  });
});
