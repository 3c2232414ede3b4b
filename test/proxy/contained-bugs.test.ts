// A bug in the proxy's own upstream callbacks (injected: no real input reaches one) is
// contained: the client is still answered, the connection slot comes back, and a
// TollgateWarning names it, where undici would have swallowed it or reported it as an
// upstream fault.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { PoolEntry } from "../../src/proxy/pools.ts";
import { throwInHandlerOf } from "../support/throw-on-dispatch.ts";
import { refusedUpgrade as refusedUpgradeAt } from "../support/upgrade-offer.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, catchAllRouteYaml, startGateway } from "./harness.ts";
import { RecordingTelemetry } from "./recording-telemetry.ts";

let upstream: http.Server;
let origin: string;
let gw: GatewayUnderTest;
let entry: PoolEntry;
const telemetry = new RecordingTelemetry();

before(async () => {
  upstream = http.createServer((req, res) => {
    if (req.url === "/reset-before-head") {
      req.socket.destroy();
      return;
    }
    if (req.url === "/reset-mid-body") {
      res.writeHead(200, { "content-length": "100" });
      res.write("x".repeat(10), () => req.socket.destroy());
      return;
    }
    res.writeHead(200, { "content-type": "text/plain", "content-length": "5" });
    res.end("hello");
  });
  upstream.on("upgrade", (req: http.IncomingMessage, socket: Socket) => {
    if (req.url === "/upgrade-reset") {
      socket.destroy();
      return;
    }
    socket.write("HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n");
    socket.pipe(socket);
  });
  upstream.listen(0, "127.0.0.1");
  await new Promise((resolve) => upstream.once("listening", resolve));
  const port = (upstream.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  gw = await startGateway(`${GATEWAY_YAML}${backendYaml("up", port)}  connectionPool: {maxConnections: 1}\n${catchAllRouteYaml("up")}`, telemetry);
  entry = gw.pools.entry(origin, 1);
});

after(async () => {
  await gw?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

/** Runs `act` with `method` of each listed request's call (or handler) throwing; returns the TollgateWarnings raised. */
async function withBug(paths: string[], pick: "call" | "handler", method: string, act: () => Promise<void>): Promise<string[]> {
  const restore = throwInHandlerOf(entry, paths, (handler) => (pick === "call" ? (handler.call as Record<string, unknown>) : handler), method);
  const warnings: string[] = [];
  const collect = (w: Error): void => {
    if (w.name === "TollgateWarning") warnings.push(w.message);
  };
  process.on("warning", collect);
  try {
    await act();
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off("warning", collect);
    restore();
  }
  return warnings;
}

/** The one connection slot is free and usable: a slot kept by the broken request would queue this one for good. */
async function assertSlotBack(): Promise<void> {
  assert.deepEqual([entry.active, entry.waiting], [0, 0]);
  const reply = await ask(gw.port, { path: "/after" });
  assert.equal(reply.status, 200);
  assert.equal(reply.body.toString(), "hello");
}

test("a bug while handling a failed attempt still answers 502, where undici swallowed it and the client hung", { timeout: 30_000 }, async () => {
  let reply: Awaited<ReturnType<typeof ask>> | undefined;
  const warnings = await withBug(["/reset-before-head"], "call", "onAttemptFailure", async () => {
    reply = await ask(gw.port, { path: "/reset-before-head" });
  });
  assert.equal(reply!.status, 502);
  assert.equal(reply!.json().error, "upstream_error");
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /^handling a failed upstream attempt failed: Error: a handler bug$/);
  const exchange = await telemetry.endOf("/reset-before-head");
  assert.equal(exchange.errorType, "upstream_error");
  assert.equal(exchange.attempts[0]!.errorType, "upstream_error");
  await assertSlotBack();
});

test("the same bug once the response head went out cuts the client's response", { timeout: 30_000 }, async () => {
  const warnings = await withBug(["/reset-mid-body"], "call", "onAttemptFailure", async () => {
    await assert.rejects(ask(gw.port, { path: "/reset-mid-body" }));
  });
  assert.deepEqual(warnings, ["handling a failed upstream attempt failed: Error: a handler bug"]);
  const exchange = await telemetry.endOf("/reset-mid-body");
  assert.equal(exchange.status, 200);
  assert.equal(exchange.errorType, "upstream_error");
  await assertSlotBack();
});

test("a bug relaying a response head is a 502 with a warning, not a silent upstream fault", { timeout: 30_000 }, async () => {
  let reply: Awaited<ReturnType<typeof ask>> | undefined;
  const warnings = await withBug(["/head-bug"], "call", "onResponseStart", async () => {
    reply = await ask(gw.port, { path: "/head-bug" });
  });
  assert.equal(reply!.status, 502);
  assert.equal(reply!.json().error, "upstream_error");
  assert.deepEqual(warnings, ["relaying an upstream response head failed: Error: a handler bug"]);
  const exchange = await telemetry.endOf("/head-bug");
  assert.equal(exchange.attempts[0]!.errorType, "upstream_error");
  await assertSlotBack();
});

for (const [method, what] of [
  ["onResponseData", "relaying an upstream response body failed"],
  ["onResponseEnd", "ending an upstream response failed"],
] as const) {
  test(`a bug in ${method} after the head went out cuts the client's response and warns`, { timeout: 30_000 }, async () => {
    const path = `/bug-in-${method}`;
    const warnings = await withBug([path], "call", method, async () => {
      await assert.rejects(ask(gw.port, { path }));
    });
    assert.deepEqual(warnings, [`${what}: Error: a handler bug`]);
    const exchange = await telemetry.endOf(path);
    assert.equal(exchange.errorType, "upstream_error");
    assert.equal(exchange.attempts[0]!.errorType, "upstream_error");
    await assertSlotBack();
  });
}

/** A refused upgrade offer: its status and JSON error code. */
async function refusedUpgrade(path: string): Promise<{ status: number; error: string }> {
  const { status, body } = await refusedUpgradeAt(gw.port, path);
  return { status, error: (JSON.parse(body) as { error: string }).error };
}

for (const [path, method, what] of [
  ["/upgrade-reset", "failAttempt", "handling a failed upgrade attempt failed"],
  ["/upgrade-open-bug", "openTunnel", "opening an upgrade tunnel failed"],
] as const) {
  test(`an upgrade whose ${method} throws still gets a 502 and warns`, { timeout: 30_000 }, async () => {
    let reply: { status: number; error: string } | undefined;
    const warnings = await withBug([path], "handler", method, async () => {
      reply = await refusedUpgrade(path);
    });
    assert.deepEqual(reply, { status: 502, error: "upstream_error" });
    assert.deepEqual(warnings, [`${what}: Error: a handler bug`]);
    const exchange = await telemetry.endOf(path);
    assert.equal(exchange.status, 502);
    assert.equal(exchange.attempts[0]!.errorType, "upstream_error");
    await assertSlotBack();
  });
}
