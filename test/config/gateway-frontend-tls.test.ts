// Client certificate validation in the config: the Gateway's `spec.tls.frontend` (`default`
// and `perPort`), the CA ConfigMaps or Secrets it names, and the exact text of each error or
// warning at the field that holds the problem.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { redactConfigForAdmin } from "../../src/config/redact.ts";
import { type TestPki, createTestPki, tlsSecretYaml } from "../support/test-certs.ts";
import { lines, load } from "./helpers.ts";

let pki: TestPki;
let clientPki: TestPki;

before(async () => {
  [pki, clientPki] = await Promise.all([createTestPki(), createTestPki("tollgate-pki-client-")]);
});
after(() => Promise.all([pki.remove(), clientPki.remove()]));

const listenerSecret = (): string => tlsSecretYaml("local-tls", pki.server);

const caConfigMap = (name: string, namespace = "default"): string => `---
apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}, namespace: ${namespace}}
data: {ca.crt: ${JSON.stringify(clientPki.ca.toString())}}
`;

/** A Gateway `name` with HTTPS listeners on 8443 and 9443 and an HTTP one on 8080, then `tls` under spec. */
const gateway = (tls: string, name = "edge", created = "2025-01-01T00:00:00Z"): string => `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ${name}, namespace: default, creationTimestamp: "${created}"}
spec:
  gatewayClassName: tollgate
  listeners:
  - {name: a, protocol: HTTPS, port: 8443, tls: {certificateRefs: [{name: local-tls}]}}
  - {name: b, protocol: HTTPS, port: 9443, hostname: localhost, tls: {certificateRefs: [{name: local-tls}]}}
  - {name: web, protocol: HTTP, port: 8080}
${tls}`;

const frontend = (body: string): string => `  tls:\n    frontend:\n${body}`;
const defaultValidation = (refs = "[{group: '', kind: ConfigMap, name: client-ca}]", mode = ""): string => `      default:\n        validation: {caCertificateRefs: ${refs}${mode === "" ? "" : `, mode: ${mode}`}}\n`;

function validationOf(result: ReturnType<typeof load>, port: number): unknown {
  const listener = result.config!.gateways[0]!.listeners.find((l) => l.port === port)!;
  return listener.tls?.clientValidation === undefined ? undefined : JSON.parse(JSON.stringify(listener.tls.clientValidation));
}

test("default validation covers every HTTPS port, AllowValidOnly unless set; the CA ConfigMap is read, not skipped; the admin view names it", () => {
  const result = load(gateway(frontend(defaultValidation())) + listenerSecret() + caConfigMap("client-ca"));
  assert.deepEqual(lines(result, "error"), []);
  assert.deepEqual(lines(result, "warning"), []);
  assert.deepEqual(lines(result, "info"), []);
  const expected = { caRefs: ["ConfigMap/default/client-ca"], mode: "AllowValidOnly" };
  assert.deepEqual(validationOf(result, 8443), expected);
  assert.deepEqual(validationOf(result, 9443), expected);
  const tls = result.config!.gateways[0]!.listeners[0]!.tls!;
  assert.equal(tls.clientValidation!.caPem, clientPki.ca.toString().trim());
  assert.match(JSON.stringify(redactConfigForAdmin(result.config!)), /"clientValidation":\{"caRefs":\["ConfigMap\/default\/client-ca"\],"mode":"AllowValidOnly"\}/);
});

test("perPort overrides the default for its port: another mode, or no validation at all", () => {
  const result = load(
    gateway(frontend(defaultValidation() + "      perPort:\n      - {port: 9443, tls: {validation: {caCertificateRefs: [{kind: ConfigMap, name: client-ca}], mode: AllowInsecureFallback}}}\n")) +
      listenerSecret() +
      caConfigMap("client-ca"),
  );
  assert.deepEqual(lines(result, "error"), []);
  assert.deepEqual(validationOf(result, 8443), { caRefs: ["ConfigMap/default/client-ca"], mode: "AllowValidOnly" });
  assert.deepEqual(validationOf(result, 9443), { caRefs: ["ConfigMap/default/client-ca"], mode: "AllowInsecureFallback" });
  const off = load(gateway(frontend(defaultValidation() + "      perPort:\n      - {port: 8443, tls: {}}\n")) + listenerSecret() + caConfigMap("client-ca"));
  assert.deepEqual(lines(off, "error"), []);
  assert.equal(validationOf(off, 8443), undefined);
  assert.deepEqual(validationOf(off, 9443), { caRefs: ["ConfigMap/default/client-ca"], mode: "AllowValidOnly" });
});

test("a CA in another namespace needs a ReferenceGrant; without one, or without the ConfigMap, the validation fails closed with a warning", () => {
  const grant = `---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: gw-cas, namespace: pki}
spec:
  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: default}]
  to: [{group: "", kind: ConfigMap}]
`;
  const text = gateway(frontend(defaultValidation("[{group: '', kind: ConfigMap, name: client-ca, namespace: pki}]"))) + listenerSecret() + caConfigMap("client-ca", "pki");
  const denied = load(text);
  assert.deepEqual(lines(denied, "error"), []);
  assert.deepEqual(lines(denied, "warning"), [
    't.yaml:14:42: spec.tls.frontend.default.validation.caCertificateRefs[0]: warning: reference to ConfigMap pki/client-ca crosses namespaces and no ReferenceGrant in "pki" allows it; the ports this validation covers refuse every client until it is fixed (hint: add a ReferenceGrant in namespace "pki" with from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: default}] and to: [{group: "", kind: ConfigMap, name: client-ca}])',
  ]);
  assert.deepEqual(validationOf(denied, 8443), { caRefs: ["ConfigMap/pki/client-ca"], mode: "AllowValidOnly", unusable: "ConfigMap pki/client-ca is in another namespace and no ReferenceGrant allows it" });
  const granted = load(text + grant);
  assert.deepEqual(lines(granted, "warning"), []);
  assert.deepEqual(validationOf(granted, 8443), { caRefs: ["ConfigMap/pki/client-ca"], mode: "AllowValidOnly" });

  const missing = load(gateway(frontend(defaultValidation("[{group: '', kind: ConfigMap, name: absent}]"))) + listenerSecret());
  assert.deepEqual(lines(missing, "error"), []);
  assert.deepEqual(lines(missing, "warning"), [
    "t.yaml:14:77: spec.tls.frontend.default.validation.caCertificateRefs[0].name: warning: ConfigMap default/absent is not in the config file; the ports this validation covers refuse every client until it is fixed (hint: add the ConfigMap with the CA certificates under ca.crt; make one with: kubectl create configmap NAME --from-file=ca.crt=ca.pem --dry-run=client -o yaml)",
  ]);
  assert.equal((validationOf(missing, 8443) as { unusable?: string }).unusable, "ConfigMap default/absent holds no usable CA certificate");
});

test("a CA bundle a BackendTLSPolicy also names, and that cannot be used, is reported for the Gateway too", () => {
  const policy = `---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: p, namespace: default, creationTimestamp: "2020-01-01T00:00:00Z"}
spec:
  targetRefs: [{group: gateway.tollgate.dev, kind: Backend, name: api}]
  validation: {caCertificateRefs: [{group: '', kind: ConfigMap, name: empty-ca}], hostname: api.internal}
---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: api, namespace: default}
spec: {endpoints: [{ip: {address: 127.0.0.1, port: 9000}}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: empty-ca, namespace: default}
data: {other: x}
`;
  const result = load(policy + gateway(frontend(defaultValidation("[{group: '', kind: ConfigMap, name: empty-ca}]"))) + listenerSecret());
  const warnings = lines(result, "warning");
  assert.ok(warnings.some((w) => w.includes("the ConfigMap has no ca.crt") && w.includes("BackendTLSPolicy naming it cannot be used")), warnings.join("\n"));
  assert.ok(
    warnings.some((w) => /spec\.tls\.frontend\.default\.validation\.caCertificateRefs\[0\]\.name: warning: ConfigMap default\/empty-ca cannot be used \(see the warning at its line \d+\); the ports this validation covers refuse every client/.test(w)),
    warnings.join("\n"),
  );
});

test("each way spec.tls.frontend can be wrong is an error, or a warning where it only has no effect", () => {
  const cases: [string, "error" | "warning", string][] = [
    [gateway(frontend(defaultValidation() + "      perPort:\n      - {port: 8443, tls: {}}\n      - {port: 8443, tls: {}}\n")), "error", "t.yaml:17:16: spec.tls.frontend.perPort[1].port: port 8443 has two perPort entries (hint: keep one entry per port)"],
    [gateway(frontend(defaultValidation() + "      perPort:\n      - {port: 8080, tls: {}}\n")), "warning", "t.yaml:16:16: spec.tls.frontend.perPort[0].port: warning: no HTTPS listener of this Gateway is on port 8080: this entry has no effect (hint: use the port of an HTTPS listener)"],
    [gateway(frontend(defaultValidation("[]"))), "error", "t.yaml:14:41: spec.tls.frontend.default.validation.caCertificateRefs: needs at least 1 item(s)"],
    [gateway(frontend(defaultValidation(undefined, "Sometimes"))), "error", 't.yaml:14:96: spec.tls.frontend.default.validation.mode: the string "Sometimes" is not allowed'],
    [gateway(frontend("      perPort: []\n")), "error", "t.yaml:13:7: spec.tls.frontend.default: missing required field"],
  ];
  for (const [text, severity, expected] of cases) {
    const found = lines(load(text + listenerSecret() + caConfigMap("client-ca")), severity).map((l) => (severity === "error" ? l.replace(/ \(hint: .*\)$/, "") : l));
    assert.deepEqual(found, [severity === "error" ? expected.replace(/ \(hint: .*\)$/, "") : expected]);
  }
  const httpOnly = `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: plain, namespace: default}
spec:
  gatewayClassName: tollgate
  listeners: [{name: web, protocol: HTTP, port: 8080}]
${frontend(defaultValidation())}`;
  assert.deepEqual(lines(load(httpOnly + caConfigMap("client-ca")), "warning"), [
    "t.yaml:10:7: spec.tls.frontend: warning: the Gateway has no HTTPS listener: client certificate validation has nothing to check (hint: add an HTTPS listener, or remove spec.tls.frontend)",
  ]);
});

test("Gateways sharing an HTTPS port must check client certificates the same way there", () => {
  const second = (tls: string): string => gateway(tls, "second", "2025-02-01T00:00:00Z").replace("hostname: localhost", "hostname: c.example").replace("{name: a, protocol: HTTPS, port: 8443,", "{name: a, protocol: HTTPS, port: 8443, hostname: a.example,").replace("{name: web, protocol: HTTP, port: 8080}", "{name: web, protocol: HTTP, port: 8081}");
  const differ = load(gateway(frontend(defaultValidation())) + second("") + listenerSecret() + caConfigMap("client-ca"));
  assert.deepEqual(lines(differ, "error"), [
    "t.yaml:22:5: spec.listeners[0]: port 8443 is also an HTTPS port of Gateway default/edge, which checks client certificates differently there (hint: give both Gateways the same spec.tls.frontend validation for this port, or use different ports)",
    "t.yaml:23:5: spec.listeners[1]: port 9443 is also an HTTPS port of Gateway default/edge, which checks client certificates differently there (hint: give both Gateways the same spec.tls.frontend validation for this port, or use different ports)",
  ]);
  const same = load(gateway(frontend(defaultValidation())) + second(frontend(defaultValidation())) + listenerSecret() + caConfigMap("client-ca"));
  assert.deepEqual(lines(same, "error"), []);
});
