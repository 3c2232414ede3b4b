// Gateway API Core conformance HTTPRouteMatchingAcrossRoutes, end to end: its two routes
// (one for example.com and example.net, one for example.com alone), its eight requests and
// their expected backends, against real upstreams. The manifests are the conformance ones
// (gateway-api since March 2022; the first version gave the second route `*.com`) with the
// backendRefs pointed at Backends on 127.0.0.1. Both routes share example.com, so the match
// precedence decides there; across hostnames the most specific one is decided first
// (test/router/hostnames.test.ts).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { CONFORMANCE_GATEWAY, type GatewayUnderTest, ask, conformanceBackend, startGateway } from "./harness.ts";

const NS = "gateway-conformance-infra";
let v1: TestUpstream;
let v2: TestUpstream;
let gw: GatewayUnderTest;

function manifests(): string {
  return `${CONFORMANCE_GATEWAY}${conformanceBackend("infra-backend-v1", v1.port)}${conformanceBackend("infra-backend-v2", v2.port)}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: matching-part1
  namespace: ${NS}
spec:
  parentRefs:
  - name: same-namespace
  hostnames:
  - example.com
  - example.net
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /
    - headers:
      - name: version
        value: one
    backendRefs:
    - {group: gateway.tollgate.dev, kind: Backend, name: infra-backend-v1}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: matching-part2
  namespace: ${NS}
spec:
  hostnames:
  - example.com
  parentRefs:
  - name: same-namespace
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /v2
    - headers:
      - name: version
        value: two
    backendRefs:
    - {group: gateway.tollgate.dev, kind: Backend, name: infra-backend-v2}
`;
}

before(async () => {
  v1 = await startUpstream("infra-backend-v1");
  v2 = await startUpstream("infra-backend-v2");
  gw = await startGateway(manifests());
});

after(async () => {
  await gw.close();
  await v1.close();
  await v2.close();
});

const cases: { host: string; path: string; headers?: Record<string, string>; backend: string }[] = [
  { host: "example.com", path: "/", backend: "infra-backend-v1" },
  { host: "example.com", path: "/example", backend: "infra-backend-v1" },
  { host: "example.net", path: "/example", backend: "infra-backend-v1" },
  { host: "example.com", path: "/example", headers: { Version: "one" }, backend: "infra-backend-v1" },
  { host: "example.com", path: "/v2", backend: "infra-backend-v2" },
  // The `/v2` match is limited to example.com.
  { host: "example.net", path: "/v2", backend: "infra-backend-v1" },
  { host: "example.com", path: "/v2/example", backend: "infra-backend-v2" },
  { host: "example.com", path: "/", headers: { Version: "two" }, backend: "infra-backend-v2" },
];

for (const c of cases) {
  const label = `${c.host}${c.path}${c.headers === undefined ? "" : ` ${JSON.stringify(c.headers)}`} → ${c.backend}`;
  test(label, async () => {
    const reply = await ask(gw.port, { path: c.path, headers: { host: c.host, ...c.headers } });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers["x-upstream"], c.backend);
  });
}
