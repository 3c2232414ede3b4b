// The gRPC channels to ExternalAuth services over their lives: a connection that goes silent
// without closing is replaced once a check's deadline passes with nothing heard from the
// service, but not while the service answers other checks on it, nor while it is still
// connecting; and a reload that drops a service's Backend closes its channel. A real ext_authz
// service (grpc-js) is reached through a TCP relay that can silence the connections it carries.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { blackHoleServer, type BlackHole } from "../support/otlp-receiver.ts";
import { type GrpcAuthzService, startGrpcAuthzService } from "../support/grpc-authz-service.ts";
import { type TcpRelay, startTcpRelay } from "../support/tcp-relay.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { until } from "../support/until.ts";
import { engine } from "../../src/server/engine.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, compileYaml, ref, routeYaml, startGateway } from "./harness.ts";

const checkedRule = (prefix: string, authBackend: string): string => `    - matches: [{path: {type: PathPrefix, value: ${prefix}}}]
      timeouts: {request: 500ms}
      filters:
      - type: ExternalAuth
        externalAuth: {protocol: GRPC, backendRef: ${ref(authBackend)}}
      backendRefs: [${ref("app")}]
`;

let app: TestUpstream;
let authz: GrpcAuthzService;
let relay: TcpRelay;
let droppedRelay: TcpRelay;
let flakyRelay: TcpRelay;
let blackHole: BlackHole;
let gw: GatewayUnderTest;
let yamlWithout: (backend: string) => string;

before(async () => {
  app = await startUpstream("app");
  authz = await startGrpcAuthzService();
  relay = await startTcpRelay(authz.port);
  droppedRelay = await startTcpRelay(authz.port);
  flakyRelay = await startTcpRelay(authz.port);
  blackHole = await blackHoleServer();
  const services: Record<string, { port: number; prefix: string }> = {
    authz: { port: relay.port, prefix: "/app" },
    "authz-dropped": { port: droppedRelay.port, prefix: "/dropped" },
    "authz-mute": { port: blackHole.port, prefix: "/mute" },
    "authz-flaky": { port: flakyRelay.port, prefix: "/flaky" },
  };
  yamlWithout = (left) => {
    const kept = Object.entries(services).filter(([name]) => name !== left);
    return (
      GATEWAY_YAML +
      backendYaml("app", app.port) +
      kept.map(([name, { port }]) => backendYaml(name, port)).join("") +
      routeYaml(kept.map(([name, { prefix }]) => checkedRule(prefix, name)).join(""))
    );
  };
  gw = await startGateway(yamlWithout(""));
});

after(async () => {
  await gw.close();
  await relay.close();
  await droppedRelay.close();
  await flakyRelay.close();
  await blackHole.close();
  await authz.close();
  await app.close();
});

const TIMED_OUT = { error: "ext_authz_error", message: "the authorization service did not answer in time" };

/** A check that times out while `during` runs on the same connection; the connection is kept. */
async function timeoutBeside(name: string, during: () => Promise<void>, hanging = "Bearer hang"): Promise<void> {
  assert.equal((await ask(gw.port, { path: `/app/${name}-first` })).status, 200);
  const accepted = relay.accepted;
  const pending = ask(gw.port, { path: `/app/${name}-hanging`, headers: { authorization: hanging } });
  await until(() => authz.seen.some((c) => c.request.attributes.request.http.path === `/app/${name}-hanging`));
  await during();
  const timedOut = await pending;
  assert.equal(timedOut.status, 403);
  assert.deepEqual(timedOut.json(), TIMED_OUT);
  assert.equal((await ask(gw.port, { path: `/app/${name}-after` })).status, 200);
  assert.equal(relay.accepted, accepted, "the connection the service answered on is kept");
}

test("a check that times out while the service answers another check on the connection keeps the connection", async () => {
  await timeoutBeside("answered", async () => {
    assert.equal((await ask(gw.port, { path: "/app/answered-beside" })).status, 200);
  });
});

test("an answer that is a status alone (no response headers) counts as the service heard", async () => {
  await timeoutBeside("status-alone", async () => {
    const refused = await ask(gw.port, { path: "/app/refused", headers: { authorization: "Bearer failed-precondition" } });
    assert.equal(refused.status, 403);
    assert.equal(refused.json()["message"], "the authorization service failed the check (gRPC FAILED_PRECONDITION)");
  });
});

test("a DEADLINE_EXCEEDED the service sends about its own work counts as the service heard", async () => {
  await timeoutBeside("own-deadline", async () => {
    const refused = await ask(gw.port, { path: "/app/own-deadline", headers: { authorization: "Bearer own-deadline" } });
    assert.equal(refused.json()["message"], "the authorization service failed the check (gRPC DEADLINE_EXCEEDED)");
  });
});

test("a check whose response headers came, but no answer, times out on a connection that is kept", async () => {
  await timeoutBeside("headers-only", () => Promise.resolve(), "Bearer headers-then-hang");
});

test("a connection that goes silent without closing is replaced after one check's deadline; the next checks are answered", async () => {
  assert.equal((await ask(gw.port, { path: "/app/before-silence" })).status, 200);
  const before = relay.accepted;
  relay.silence();
  const lost = await ask(gw.port, { path: "/app/lost" });
  assert.equal(lost.status, 403);
  assert.deepEqual(lost.json(), TIMED_OUT);
  assert.equal(relay.accepted, before, "nothing reconnects before the deadline");

  const answered = await ask(gw.port, { path: "/app/answered-again" });
  assert.equal(answered.status, 200, answered.body.toString());
  assert.equal(relay.accepted, before + 1, "one new connection");
  assert.equal((await ask(gw.port, { path: "/app/and-again" })).status, 200);
  assert.equal(relay.accepted, before + 1, "the new connection carries the checks after it");
  assert.equal(app.requests.filter((r) => r.url === "/app/lost").length, 0, "the upstream never saw the unchecked request");
});

test("an endpoint's channel is replaced at most once in 10 s: a connection that goes silent right after a replacement is kept", async () => {
  assert.equal((await ask(gw.port, { path: "/flaky/first" })).status, 200);
  flakyRelay.silence();
  assert.deepEqual((await ask(gw.port, { path: "/flaky/lost" })).json(), TIMED_OUT);
  assert.equal((await ask(gw.port, { path: "/flaky/replaced" })).status, 200);
  assert.equal(flakyRelay.accepted, 2);
  flakyRelay.silence();
  assert.deepEqual((await ask(gw.port, { path: "/flaky/lost-again" })).json(), TIMED_OUT);
  assert.deepEqual((await ask(gw.port, { path: "/flaky/still-lost" })).json(), TIMED_OUT, "the silent connection is kept");
  assert.equal(flakyRelay.accepted, 2, "no third connection");
});

test("a channel still connecting when a check's deadline passes keeps its connection attempt", async () => {
  // The black hole accepts TCP and never sends HTTP/2 settings: the channel stays connecting.
  const first = await ask(gw.port, { path: "/mute/first" });
  assert.deepEqual(first.json(), TIMED_OUT);
  assert.equal(blackHole.connections(), 1);
  const second = await ask(gw.port, { path: "/mute/second" });
  assert.deepEqual(second.json(), TIMED_OUT);
  assert.equal(blackHole.connections(), 1, "the second check waits on the same connection attempt");
});

test("a reload that drops a service's Backend closes its channel; the others stay open", async () => {
  assert.equal((await ask(gw.port, { path: "/app/before-reload" })).status, 200);
  assert.equal((await ask(gw.port, { path: "/dropped/before" })).status, 200);
  assert.equal(droppedRelay.open, 1);
  const openBefore = relay.open;
  assert.ok(openBefore >= 1, "the kept service's connection is open");

  gw.plan = compileYaml(yamlWithout("authz-dropped"), 2);
  engine.retainPools(gw.pools, gw.plan);
  await until(() => droppedRelay.open === 0);
  assert.equal((await ask(gw.port, { path: "/app/after-reload" })).status, 200);
  assert.equal(relay.open, openBefore, "the kept service's channel keeps its connection");
  assert.equal((await ask(gw.port, { path: "/dropped/after" })).status, 404, "the reload removed the route too");
});
