// The HTTPRoute ExternalAuth filter in the config: what it loads to, and the exact text of
// each error, at the field that holds the problem. A check that cannot be made must fail the
// load: leaving it out would open the route.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { FilterModel } from "../../src/config/model.ts";
import { WEB_ROUTE, errors, load } from "./helpers.ts";

const AUTHZ_BACKEND = `---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: authz}
spec:
  endpoints: [{ip: {address: 127.0.0.1, port: 9001}}]
`;

const route = (externalAuth: string): string => `${WEB_ROUTE}  rules:
  - filters:
    - type: ExternalAuth
      externalAuth:
${externalAuth}    backendRefs:
    - {name: app, port: 80}
${AUTHZ_BACKEND}`;

/** What Gateway API leaves to the implementation: Envoy's and Envoy Gateway's defaults. */
const GATEWAY_API_DEFAULTS = {
  answerHeadersWhenUnlisted: "all",
  bodyAsBytes: false,
  policyName: "",
  timeoutMs: 10_000,
  failOpen: false,
  statusOnError: 403,
  percentEnabled: 100,
  contextExtensions: {},
  checkHeadersToAdd: [],
  clientHeadersOnDenial: undefined,
  clientHeadersOnSuccess: [],
} as const;

function ruleFilters(text: string): readonly FilterModel[] {
  const { config, diagnostics } = load(text);
  assert.ok(config, diagnostics.map((d) => d.message).join("\n"));
  return config.routes[0]!.rules[0]!.filters;
}

test("an HTTP filter loads with its backend, the prefix without its trailing slash, and header names in lower case", () => {
  assert.deepEqual(
    ruleFilters(
      route(`        protocol: HTTP
        backendRef: {group: gateway.tollgate.dev, kind: Backend, name: authz}
        http:
          path: /ext-auth/
          allowedHeaders: [X-Tenant, authorization]
          allowedResponseHeaders: [X-User-Id]
        forwardBody: {maxSize: 0}
`),
    ),
    [{ type: "ExternalAuth", protocol: "HTTP", backendKey: "default/authz", pathPrefix: "/ext-auth", allowedRequestHeaders: ["x-tenant", "authorization"], allowedResponseHeaders: ["x-user-id"], forwardBodyBytes: 0, ...GATEWAY_API_DEFAULTS }],
  );
  const config = load(route("        protocol: HTTP\n        backendRef: {group: gateway.tollgate.dev, kind: Backend, name: authz}\n        http: {}\n")).config;
  assert.ok(config?.backends.some((b) => b.key === "default/authz"), "the service's Backend is in the plan, so it gets a pool");
});

test("a Service reference resolves to its cluster DNS name", () => {
  assert.deepEqual(ruleFilters(route("        protocol: HTTP\n        backendRef: {name: ext-authz, port: 8080}\n        http: {}\n")), [
    { type: "ExternalAuth", protocol: "HTTP", backendKey: "default/ext-authz:8080", pathPrefix: "", allowedRequestHeaders: [], allowedResponseHeaders: [], forwardBodyBytes: 0, ...GATEWAY_API_DEFAULTS },
  ]);
});

test("a GRPC filter loads with its header list in lower case, and without grpc sends every header", () => {
  assert.deepEqual(ruleFilters(route("        protocol: GRPC\n        backendRef: {name: ext-authz, port: 9000}\n        grpc: {allowedHeaders: [X-Tenant, authorization]}\n        forwardBody: {maxSize: 512}\n")), [
    { type: "ExternalAuth", protocol: "GRPC", backendKey: "default/ext-authz:9000", pathPrefix: "", allowedRequestHeaders: ["x-tenant", "authorization"], allowedResponseHeaders: [], forwardBodyBytes: 512, ...GATEWAY_API_DEFAULTS },
  ]);
  assert.deepEqual(ruleFilters(route("        protocol: GRPC\n        backendRef: {name: ext-authz, port: 9000}\n")), [
    { type: "ExternalAuth", protocol: "GRPC", backendKey: "default/ext-authz:9000", pathPrefix: "", allowedRequestHeaders: [], allowedResponseHeaders: [], forwardBodyBytes: 0, ...GATEWAY_API_DEFAULTS },
  ]);
});

test("a protocol without its block, a block of the other protocol and a bad GRPC header list are refused", () => {
  assert.deepEqual(errors(route("        protocol: GRPC\n        backendRef: {name: ext-authz, port: 9000}\n        grpc: {allowedHeaders: [x-a, X-A, connection]}\n        http: {}\n")), [
    "t.yaml:25:38: spec.rules[0].filters[0].externalAuth.grpc.allowedHeaders[1]: \"X-A\" appears twice (also [0]) (hint: list each value once)",
    "t.yaml:25:43: spec.rules[0].filters[0].externalAuth.grpc.allowedHeaders[2]: header \"connection\" cannot be copied here: it names one connection and never leaves it (hint: remove this entry)",
    "t.yaml:26:15: spec.rules[0].filters[0].externalAuth.http: http is set but protocol is GRPC (hint: remove http, or set protocol: HTTP)",
  ]);
  assert.deepEqual(errors(route("        protocol: HTTP\n        backendRef: {name: ext-authz, port: 9000}\n        grpc: {}\n")), [
    "t.yaml:23:9: spec.rules[0].filters[0].externalAuth.http: protocol HTTP needs http (hint: add http: {} (its fields are optional))",
    "t.yaml:25:15: spec.rules[0].filters[0].externalAuth.grpc: grpc is set but protocol is HTTP (hint: remove grpc, or set protocol: GRPC)",
  ]);
});

test("forwardBody.maxSize loads as the number of body bytes the check takes", () => {
  const [filter] = ruleFilters(route("        protocol: HTTP\n        backendRef: {name: ext-authz, port: 9000}\n        http: {}\n        forwardBody: {maxSize: 1024}\n"));
  assert.equal((filter as { forwardBodyBytes: number }).forwardBodyBytes, 1024);
});

test("a path outside the CRD's pattern, not normalised or without a leading slash, and header entries that are not tokens, repeat, are `*` or frame a message are refused", () => {
  assert.deepEqual(
    errors(
      route(`        protocol: HTTP
        backendRef: {name: ext-authz, port: 9000}
        http:
          path: /auth?x=1
          allowedHeaders: [x-a, X-A, "bad name", Connection, "*", proxy-authorization]
          allowedResponseHeaders: [content-length, host, x-user]
`),
    ),
    [
      `t.yaml:26:17: spec.rules[0].filters[0].externalAuth.http.path: "/auth?x=1" is not a path (hint: use letters, digits, -._~!$&'()*+,;=:@/ and %XX escapes, e.g. /auth)`,
      't.yaml:27:33: spec.rules[0].filters[0].externalAuth.http.allowedHeaders[1]: "X-A" appears twice (also [0]) (hint: list each value once)',
      't.yaml:27:38: spec.rules[0].filters[0].externalAuth.http.allowedHeaders[2]: "bad name" is not a valid header name (hint: use letters, digits and !#$%&\'*+-.^_`|~ only (an RFC 9110 token))',
      't.yaml:27:50: spec.rules[0].filters[0].externalAuth.http.allowedHeaders[3]: header "Connection" cannot be copied here: it names one connection and never leaves it (hint: remove this entry)',
      't.yaml:27:62: spec.rules[0].filters[0].externalAuth.http.allowedHeaders[4]: "*" is not a wildcard here: these lists have none (hint: list the header names)',
      't.yaml:27:67: spec.rules[0].filters[0].externalAuth.http.allowedHeaders[5]: header "proxy-authorization" cannot be copied here: it names one connection and never leaves it (hint: remove this entry)',
      't.yaml:28:36: spec.rules[0].filters[0].externalAuth.http.allowedResponseHeaders[0]: header "content-length" cannot be copied here: the gateway frames the forwarded request and runs its connection itself (hint: remove this entry)',
      't.yaml:28:52: spec.rules[0].filters[0].externalAuth.http.allowedResponseHeaders[1]: header "host" cannot be copied here: the forwarded request keeps the client\'s Host (hint: remove this entry)',
    ],
  );
  assert.deepEqual(errors(route("        protocol: HTTP\n        backendRef: {name: ext-authz, port: 9000}\n        http: {path: auth}\n")), [
    't.yaml:25:22: spec.rules[0].filters[0].externalAuth.http.path: the path prefix must start with / (hint: write "/auth")',
  ]);
  for (const path of ["/a//b", "/a/../b", "/a/.", "/a/%2Fb", "/a/%2fb", "/auth/%2e%2e/admin", "/a/%2E", "/a/.%2e/b"]) {
    assert.deepEqual(
      errors(route(`        protocol: HTTP\n        backendRef: {name: ext-authz, port: 9000}\n        http: {path: "${path}"}\n`)),
      [`t.yaml:25:22: spec.rules[0].filters[0].externalAuth.http.path: "${path}" is not a normalised path: it holds "//", a "." or ".." segment (plain or encoded), or an encoded "/" (hint: write the path as the service expects it, e.g. /auth/verify)`],
      path,
    );
  }
});

test("Expect and Transfer-Encoding are refused in either list", () => {
  assert.deepEqual(errors(route("        protocol: HTTP\n        backendRef: {name: ext-authz, port: 9000}\n        http: {allowedHeaders: [Expect], allowedResponseHeaders: [transfer-encoding]}\n")), [
    't.yaml:25:33: spec.rules[0].filters[0].externalAuth.http.allowedHeaders[0]: header "Expect" cannot be copied here: the gateway answers Expect: 100-continue itself (hint: remove this entry)',
    't.yaml:25:67: spec.rules[0].filters[0].externalAuth.http.allowedResponseHeaders[0]: header "transfer-encoding" cannot be copied here: the gateway frames the forwarded request and runs its connection itself (hint: remove this entry)',
  ]);
});

test("Host, Authorization and Content-Length in allowedHeaders are always sent anyway, so they load", () => {
  const [filter] = ruleFilters(route("        protocol: HTTP\n        backendRef: {name: ext-authz, port: 9000}\n        http: {allowedHeaders: [Host, authorization, Content-Length, x-b]}\n"));
  assert.deepEqual(filter, { type: "ExternalAuth", protocol: "HTTP", backendKey: "default/ext-authz:9000", pathPrefix: "", allowedRequestHeaders: ["host", "authorization", "content-length", "x-b"], allowedResponseHeaders: [], forwardBodyBytes: 0, ...GATEWAY_API_DEFAULTS });
});

test("a second ExternalAuth in a rule is refused with a hint of its own", () => {
  const twice = route("        protocol: HTTP\n        backendRef: {name: ext-authz, port: 9000}\n        http: {}\n").replace(
    "    backendRefs:\n",
    "    - {type: ExternalAuth, externalAuth: {protocol: HTTP, backendRef: {name: other, port: 9000}, http: {}}}\n    backendRefs:\n",
  );
  assert.deepEqual(errors(twice), ["t.yaml:26:14: spec.rules[0].filters[1].type: ExternalAuth appears twice (also filters[0]) (hint: keep one check per rule; a service can ask others itself)"]);
});

test("a backendRef that does not resolve fails the load instead of leaving the route unchecked", () => {
  assert.deepEqual(errors(route("        protocol: HTTP\n        backendRef: {group: gateway.tollgate.dev, kind: Backend, name: missing}\n        http: {}\n")), [
    't.yaml:24:72: spec.rules[0].filters[0].externalAuth.backendRef.name: Backend default/missing is not defined in the file (hint: add a gateway.tollgate.dev/v1alpha1 Backend named "missing" in namespace "default")',
  ]);
});

test("ExternalAuth on a backendRef is refused: the check decides whether a backend is chosen at all", () => {
  const onBackendRef = `${WEB_ROUTE}  rules:
  - backendRefs:
    - name: app
      port: 80
      filters:
      - type: ExternalAuth
        externalAuth: {protocol: HTTP, backendRef: {name: ext-authz, port: 9000}, http: {}}
`;
  assert.deepEqual(errors(onBackendRef), [
    "t.yaml:24:15: spec.rules[0].backendRefs[0].filters[0].type: ExternalAuth is not supported on a backendRef (hint: move it to the rule's filters)",
  ]);
});
