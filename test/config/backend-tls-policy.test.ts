// BackendTLSPolicy in the config: which backends it reaches (Services, Tollgate Backends, a
// Service resolving to a Backend), the CA bundles it reads from ConfigMaps and Secrets, and the
// exact text of each error or warning at the field that holds the problem.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { redactConfigForAdmin } from "../../src/config/redact.ts";
import type { ResolvedConfig } from "../../src/config/model.ts";
import { wellKnownCaPem } from "../../src/config/upstream-tls.ts";
import { type TestPki, createTestPki } from "../support/test-certs.ts";
import { TRACING_TO_COLLECTOR, WEB_ROUTE, lines, load } from "./helpers.ts";

let pki: TestPki;
let caPem: string;

before(async () => {
  pki = await createTestPki();
  caPem = pki.ca.toString("utf8");
});
after(() => pki.remove());

const indent = (text: string, by: string): string =>
  text
    .trimEnd()
    .split("\n")
    .map((line) => by + line)
    .join("\n");

const caConfigMap = (name: string, pem: string = caPem): string => `---
apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}, namespace: default}
data:
  ca.crt: |
${indent(pem, "    ")}
`;

const policy = (name: string, targets: string, validation: string, extra = ""): string => `---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: ${name}, namespace: default}
spec:
  targetRefs: ${targets}
  validation:
${validation}${extra}`;

/** A policy trusting the well-known CAs, with only a hostname. */
const systemPolicy = (name: string, targets: string, hostname: string, extra = ""): string => policy(name, targets, `    wellKnownCACertificates: System\n    hostname: ${hostname}\n`, extra);

const ROUTE_TO_SERVICE_AND_BACKEND = `${WEB_ROUTE}  rules:
  - matches: [{path: {type: PathPrefix, value: /svc}}]
    backendRefs: [{name: api, port: 8443}]
  - matches: [{path: {type: PathPrefix, value: /backend}}]
    backendRefs: [{group: gateway.tollgate.dev, kind: Backend, name: store}]
  - matches: [{path: {type: PathPrefix, value: /aliased}}]
    backendRefs: [{name: aliased, port: 9443}]
---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: store}
spec:
  endpoints: [{ip: {address: 127.0.0.1, port: 9000}}]
---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: aliased}
spec:
  endpoints: [{fqdn: {hostname: aliased.internal, port: 9443}}]
`;

function backend(config: ResolvedConfig | undefined, name: string) {
  const found = config?.backends.find((b) => b.name === name);
  assert.ok(found, `backend ${name} resolved`);
  return found;
}

test("a policy gives TLS to a Service, a Tollgate Backend, and a Backend reached through its Service name; others stay plain", () => {
  const result = load(
    ROUTE_TO_SERVICE_AND_BACKEND +
      caConfigMap("internal-ca") +
      policy("api-tls", "[{group: '', kind: Service, name: api}, {group: '', kind: Service, name: aliased}]", "    caCertificateRefs: [{group: '', kind: ConfigMap, name: internal-ca}]\n    hostname: api.internal\n") +
      policy("store-tls", "[{group: gateway.tollgate.dev, kind: Backend, name: store}]", "    wellKnownCACertificates: System\n    hostname: store.example.com\n    subjectAltNames:\n    - {type: Hostname, hostname: store.example.com}\n    - {type: URI, uri: 'spiffe://cluster.local/ns/default/sa/store'}\n"),
  );
  assert.deepEqual(lines(result, "error"), []);
  assert.deepEqual(lines(result, "warning"), []);
  const api = backend(result.config, "api");
  assert.equal(api.kind, "Service");
  assert.equal(api.tls?.hostname, "api.internal");
  assert.equal(api.tls?.trustedCaPem.trim(), caPem.trim());
  assert.deepEqual(api.tls?.trust, { refs: ["ConfigMap/default/internal-ca"] });
  assert.equal(backend(result.config, "aliased").tls, api.tls, "a Service ref that resolves to a Backend gets the Service's policy");
  const store = backend(result.config, "store");
  assert.equal(store.tls?.trustedCaPem, wellKnownCaPem(), "System: the well-known CAs");
  assert.ok(wellKnownCaPem().split("BEGIN CERTIFICATE").length > 100, "Node's bundled roots at least");
  assert.deepEqual(store.tls?.trust, { wellKnown: "System" });
  assert.deepEqual(store.tls?.subjectAltNames, [
    { type: "Hostname", value: "store.example.com" },
    { type: "URI", value: "spiffe://cluster.local/ns/default/sa/store" },
  ]);
  // The ConfigMap was read: it is not reported as skipped.
  assert.deepEqual(lines(result, "info"), []);
  assert.deepEqual(result.config?.skippedKinds, []);
  // The admin API shows where trust comes from, not the PEM.
  const shown = JSON.stringify(redactConfigForAdmin(result.config!));
  assert.match(shown, /"policy":"default\/api-tls","hostname":"api.internal","trust":\{"refs":\["ConfigMap\/default\/internal-ca"\]\}/);
  assert.doesNotMatch(shown, /BEGIN CERTIFICATE/);
});

test("a CA from a Secret (data, base64) and several refs bundle together; an unread ConfigMap is still reported as skipped", () => {
  const result = load(
    ROUTE_TO_SERVICE_AND_BACKEND +
      caConfigMap("first-ca") +
      caConfigMap("unused") +
      `---\napiVersion: v1\nkind: Secret\nmetadata: {name: second-ca, namespace: default}\ndata: {ca.crt: ${Buffer.from(caPem).toString("base64")}}\n` +
      policy("api-tls", "[{group: '', kind: Service, name: api}]", "    caCertificateRefs: [{group: '', kind: ConfigMap, name: first-ca}, {group: '', kind: Secret, name: second-ca}]\n    hostname: api.internal\n"),
  );
  assert.deepEqual(lines(result, "error"), []);
  const api = backend(result.config, "api");
  assert.equal(api.tls?.trustedCaPem.match(/BEGIN CERTIFICATE/g)?.length, 2);
  assert.deepEqual(lines(result, "info"), ["t.yaml:55:1: -: info: skipped 1 resource(s) of kinds Tollgate does not implement: v1/ConfigMap unused"]);
});

test("each broken CA source is a warning at the field that holds the problem, and its policy fails closed while the rest of the file loads", () => {
  const result = load(
    ROUTE_TO_SERVICE_AND_BACKEND +
      `---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: no-key, namespace: default}\ndata: {other: x}\n` +
      `---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: not-pem, namespace: default}\ndata: {ca.crt: hello}\n` +
      `---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad-binary, namespace: default}\nbinaryData: {ca.crt: '***'}\n` +
      policy(
        "api-tls",
        "[{group: '', kind: Service, name: api}]",
        "    caCertificateRefs:\n    - {group: '', kind: ConfigMap, name: missing}\n    - {group: '', kind: ConfigMap, name: no-key}\n    - {group: '', kind: ConfigMap, name: not-pem}\n    - {group: '', kind: ConfigMap, name: bad-binary}\n    - {group: example.com, kind: Vault, name: v}\n    hostname: api.internal\n",
      ),
  );
  assert.deepEqual(lines(result, "error"), []);
  const api = backend(result.config, "api");
  assert.equal(api.tls?.unusable, "a CA certificate reference did not resolve");
  assert.equal(backend(result.config, "store").tls, undefined, "other backends are untouched");
  const consequence = "; the BackendTLSPolicy naming it cannot be used, and requests to its backends are answered 502 upstream_tls_failed";
  assert.deepEqual(lines(result, "warning"), [
    "t.yaml:42:7: data: warning: the ConfigMap has no ca.crt" + consequence + " (hint: put the PEM CA certificates under data.ca.crt; make one with: kubectl create configmap NAME --from-file=ca.crt=ca.pem --dry-run=client -o yaml)",
    "t.yaml:47:16: data.ca.crt: warning: ca.crt holds no PEM certificate" + consequence + " (hint: put the CA certificates here, PEM encoded (-----BEGIN CERTIFICATE-----))",
    "t.yaml:52:22: binaryData.ca.crt: warning: binaryData.ca.crt is not base64" + consequence + " (hint: put plain PEM under data.ca.crt instead)",
    "t.yaml:61:42: spec.validation.caCertificateRefs[0].name: warning: ConfigMap default/missing is not in the config file" + consequence + " (hint: add the ConfigMap with the CA certificates under ca.crt; make one with: kubectl create configmap NAME --from-file=ca.crt=ca.pem --dry-run=client -o yaml)",
    't.yaml:65:34: spec.validation.caCertificateRefs[4].kind: warning: CA certificates come from a ConfigMap or a Secret, not example.com/Vault' + consequence + ' (hint: reference {group: "", kind: ConfigMap, name: ...} holding ca.crt)',
  ]);
});

test("validation needs exactly one CA source, a server name for SNI, and well-formed subjectAltNames", () => {
  const both = load(
    ROUTE_TO_SERVICE_AND_BACKEND +
      caConfigMap("ca") +
      policy("both", "[{group: '', kind: Service, name: api}]", "    caCertificateRefs: [{group: '', kind: ConfigMap, name: ca}]\n    wellKnownCACertificates: System\n    hostname: '*.internal'\n") +
      policy("neither", "[{group: '', kind: Service, name: other}]", "    hostname: api.internal\n    subjectAltNames:\n    - {type: URI, hostname: api.internal}\n    - {type: Hostname, uri: ''}\n    - {type: Hostname}\n    - {type: URI, uri: not a uri}\n"),
  );
  assert.equal(both.config, undefined);
  assert.deepEqual(lines(both, "error"), [
    "t.yaml:63:30: spec.validation.wellKnownCACertificates: caCertificateRefs and wellKnownCACertificates are both set; Gateway API allows one (hint: keep caCertificateRefs to trust your own CA, or wellKnownCACertificates: System for public CAs)",
    `t.yaml:64:15: spec.validation.hostname: hostname "*.internal" cannot be sent as SNI: a wildcard is not a server name (hint: set the DNS name the upstream's certificate is issued for, e.g. api.internal.example.com)`,
    't.yaml:71:3: spec.validation: validation names no CA: set caCertificateRefs or wellKnownCACertificates (hint: add caCertificateRefs: [{group: "", kind: ConfigMap, name: ...}] or wellKnownCACertificates: System)',
    "t.yaml:74:29: spec.validation.subjectAltNames[0].hostname: a subjectAltName of type URI takes uri, not hostname (hint: remove hostname, or set type: Hostname)",
    "t.yaml:75:7: spec.validation.subjectAltNames[1]: a subjectAltName of type Hostname needs hostname (hint: add hostname: ...)",
    "t.yaml:76:7: spec.validation.subjectAltNames[2]: a subjectAltName of type Hostname needs hostname (hint: add hostname: ...)",
    't.yaml:77:24: spec.validation.subjectAltNames[3].uri: uri "not a uri" is not valid: a URI starts with a scheme (spiffe:, https:, ...) (hint: write an absolute URI, e.g. spiffe://cluster.local/ns/default/sa/api)',
  ]);
});

test("targets: other kinds are ignored with a warning, sectionName is an error, and the older of two policies wins", () => {
  const result = load(
    ROUTE_TO_SERVICE_AND_BACKEND +
      systemPolicy("b-newer", "[{group: '', kind: Service, name: api}]", "newer.internal", "  options: {example.com/cipher: x}\n") +
      systemPolicy("a-older", "[{group: '', kind: Service, name: api}, {group: apps, kind: Deployment, name: api}]", "older.internal"),
  );
  assert.deepEqual(lines(result, "error"), []);
  assert.deepEqual(lines(result, "warning"), [
    "t.yaml:43:16: spec.targetRefs[0]: warning: Service default/api already has BackendTLSPolicy default/a-older, which is older; this policy is ignored for it (hint: only one BackendTLSPolicy may target a backend)",
    "t.yaml:47:12: spec.options: warning: BackendTLSPolicy options are implementation-specific and Tollgate reads none; they are ignored (hint: remove options)",
    't.yaml:53:75: spec.targetRefs[1].kind: warning: a BackendTLSPolicy applies to Services and gateway.tollgate.dev Backends; this targetRef (apps/Deployment) is ignored (hint: target {group: "", kind: Service, name: ...})',
  ]);
  assert.equal(backend(result.config, "api").tls?.hostname, "older.internal");

});

test("a policy on a collector is reported: telemetry export does not read BackendTLSPolicy", () => {
  const result = load(
    `${WEB_ROUTE}  rules:
  - backendRefs: [{name: api, port: 8443}]
${TRACING_TO_COLLECTOR}` + systemPolicy("collector-tls", "[{group: '', kind: Service, name: collector}]", "collector.internal"),
  );
  assert.deepEqual(lines(result, "error"), []);
  assert.deepEqual(lines(result, "warning"), [
    "t.yaml:32:23: spec.tracing.provider.openTelemetry.grpcService.backendRef: warning: BackendTLSPolicy default/collector-tls targets this collector, but telemetry export does not read BackendTLSPolicy: it is sent without TLS (hint: configure the exporter's TLS with OTEL_EXPORTER_OTLP_CERTIFICATE and an https:// OTEL_EXPORTER_OTLP_ENDPOINT)",
  ]);
});

test("a well-known CA set other than System is a warning, and its policy fails closed", () => {
  const result = load(ROUTE_TO_SERVICE_AND_BACKEND + policy("vendor", "[{group: '', kind: Service, name: api}]", "    wellKnownCACertificates: example.com/corporate\n    hostname: api.internal\n"));
  assert.deepEqual(lines(result, "error"), []);
  assert.deepEqual(lines(result, "warning"), [
    't.yaml:45:30: spec.validation.wellKnownCACertificates: warning: wellKnownCACertificates "example.com/corporate" is not a CA set Tollgate knows; the policy cannot be used, and requests to its backends are answered 502 upstream_tls_failed (hint: set wellKnownCACertificates: System, or name your CA in caCertificateRefs)',
  ]);
  assert.equal(backend(result.config, "api").tls?.unusable, 'wellKnownCACertificates "example.com/corporate" is not known');
});

const SERVICE_ROUTES = `${WEB_ROUTE}  rules:
  - matches: [{path: {type: PathPrefix, value: /secure}}]
    backendRefs: [{name: api, port: 8443}]
  - matches: [{path: {type: PathPrefix, value: /plain}}]
    backendRefs: [{name: api, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /numbered}}]
    backendRefs: [{name: legacy, port: 9443}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: default}
spec:
  ports:
  - {name: https, port: 8443, targetPort: 443}
  - {name: http, port: 8080}
`;

test("sectionName names a Service port: by the Service's port names when the file holds it, else by number; a port's policy beats the whole Service's", () => {
  const result = load(
    SERVICE_ROUTES +
      systemPolicy("a-whole", "[{group: '', kind: Service, name: api}]", "abc.internal") +
      systemPolicy("b-port", "[{group: '', kind: Service, name: api, sectionName: https}]", "other.internal") +
      systemPolicy("numbered", "[{group: '', kind: Service, name: legacy, sectionName: '9443'}]", "legacy.internal"),
  );
  assert.deepEqual(lines(result, "error"), []);
  assert.deepEqual(lines(result, "warning"), []);
  const tlsOf = (key: string) => result.config?.backends.find((b) => b.key === key)?.tls?.hostname;
  assert.equal(tlsOf("default/api:8443"), "other.internal", "the https port's own policy, though the whole-Service one is older");
  assert.equal(tlsOf("default/api:8080"), "abc.internal");
  assert.equal(tlsOf("default/legacy:9443"), "legacy.internal");
  assert.deepEqual(lines(result, "info"), [], "the Service whose port names were read is not reported as skipped");
});

test("a sectionName that names no port is an error: the Service in the file lacks it, the Service is not in the file, or the target is a Backend", () => {
  const result = load(
    SERVICE_ROUTES +
      systemPolicy("missing-port", "[{group: '', kind: Service, name: api, sectionName: grpc}]", "api.internal") +
      systemPolicy("unknown-service", "[{group: '', kind: Service, name: legacy, sectionName: https}]", "legacy.internal") +
      systemPolicy("backend-section", "[{group: gateway.tollgate.dev, kind: Backend, name: store, sectionName: https}]", "store.internal"),
  );
  assert.deepEqual(lines(result, "warning"), []);
  assert.deepEqual(lines(result, "error"), [
    't.yaml:39:67: spec.targetRefs[0].sectionName: Service default/api has no port named "grpc" (hint: name one of the Service\'s spec.ports, or remove sectionName to cover every port)',
    't.yaml:48:70: spec.targetRefs[0].sectionName: sectionName "https" names a port of Service default/legacy, which is not in the config file (hint: add the v1 Service to the file so its port names resolve, set sectionName to the port number, or remove it to cover every port)',
    't.yaml:57:87: spec.targetRefs[0].sectionName: a gateway.tollgate.dev Backend has no sections; sectionName "https" cannot apply (hint: remove sectionName: the policy applies to every endpoint of the Backend)',
  ]);
});

test("a Backend reached with a policy through one Service port and without through another keeps the policy, whichever comes first", () => {
  const yaml = (first: number, second: number): string =>
    `${WEB_ROUTE}  rules:
  - matches: [{path: {type: PathPrefix, value: /a}}]
    backendRefs: [{name: store, port: ${first}}]
  - matches: [{path: {type: PathPrefix, value: /b}}]
    backendRefs: [{name: store, port: ${second}}]
---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: store}
spec:
  endpoints: [{ip: {address: 127.0.0.1, port: 9000}}]
` + systemPolicy("store-https", "[{group: '', kind: Service, name: store, sectionName: '8443'}]", "store.internal");
  const tlsFirst = load(yaml(8443, 8080));
  assert.deepEqual(lines(tlsFirst, "warning"), [
    "t.yaml:23:19: spec.rules[1].backendRefs[0]: warning: Backend default/store is reached with BackendTLSPolicy default/store-https through an earlier reference and with no BackendTLSPolicy through this one; every reference to it uses BackendTLSPolicy default/store-https (hint: target the Backend (or the whole Service) with one BackendTLSPolicy)",
  ]);
  assert.equal(backend(tlsFirst.config, "store").tls?.policy, "default/store-https");
  const plainFirst = load(yaml(8080, 8443));
  assert.deepEqual(lines(plainFirst, "warning"), [
    "t.yaml:23:19: spec.rules[1].backendRefs[0]: warning: Backend default/store is reached with no BackendTLSPolicy through an earlier reference and with BackendTLSPolicy default/store-https through this one; every reference to it uses BackendTLSPolicy default/store-https (hint: target the Backend (or the whole Service) with one BackendTLSPolicy)",
  ]);
  assert.equal(backend(plainFirst.config, "store").tls?.policy, "default/store-https", "fail closed: the covered port is never reached in plain text");
});

test("a sectionName on a Service the file holds twice is an error naming both", () => {
  const result = load(
    SERVICE_ROUTES +
      "---\napiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: default}\nspec: {ports: [{name: https, port: 8443}]}\n" +
      systemPolicy("p", "[{group: '', kind: Service, name: api, sectionName: https}]", "api.internal"),
  );
  assert.deepEqual(lines(result, "error"), [
    't.yaml:44:67: spec.targetRefs[0].sectionName: sectionName "https" cannot be resolved: the file holds Service default/api 2 times (lines 27, 35) (hint: keep one of them)',
  ]);
  assert.deepEqual(lines(result, "info"), [], "both were read, so neither is reported as skipped");
});
