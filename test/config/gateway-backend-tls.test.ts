// A Gateway's client certificate for backends in the config: `spec.tls.backend` (Gateway API
// v1.4+) and the experimental `spec.backendTLS`, the Secret each names read and checked at
// load, and the exact text of each error or warning at the field that holds the problem.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { redactConfigForAdmin } from "../../src/config/redact.ts";
import { type PemPair, type TestPki, createTestPki, issueServerCertificate } from "../support/test-certs.ts";
import { lines, load } from "./helpers.ts";

let pki: TestPki;
let serverOnly: PemPair;
let expiredSecretYaml: string;

before(async () => {
  pki = await createTestPki();
  serverOnly = await issueServerCertificate(pki, "server-only", ["gateway.example"]);
  // A client certificate whose only fault is its expiry.
  const expired = await issueServerCertificate(pki, "expired", ["gateway.example"], { notBefore: "20200101000000Z", notAfter: "20200201000000Z", extendedKeyUsage: "clientAuth" });
  expiredSecretYaml = secret("expired", expired);
});
after(() => pki.remove());

const gateway = (tls: string, namespace = "default"): string => `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: ${namespace}}
spec:
  gatewayClassName: tollgate
  listeners: [{name: web, protocol: HTTP, port: 8080}]
${tls}`;

const backendTls = (ref: string): string => `  tls:\n    backend:\n      clientCertificateRef: ${ref}\n`;

function secret(name: string, pair: PemPair, namespace = "default", type = "kubernetes.io/tls"): string {
  return `---
apiVersion: v1
kind: Secret
metadata: {name: ${name}, namespace: ${namespace}}
type: ${type}
data: {tls.crt: ${pair.cert.toString("base64")}, tls.key: ${pair.key.toString("base64")}}
`;
}

test("spec.tls.backend.clientCertificateRef loads the Secret's certificate and key onto the Gateway; the admin view names the Secret only", () => {
  const result = load(gateway(backendTls("{kind: Secret, name: gateway-client}")) + secret("gateway-client", pki.client));
  assert.deepEqual(lines(result, "error"), []);
  assert.deepEqual(lines(result, "warning"), []);
  assert.deepEqual(lines(result, "info"), [], "the Secret is in use, not skipped");
  const certificate = result.config!.gateways[0]!.backendClientCertificate!;
  assert.equal(certificate.secret, "default/gateway-client");
  assert.equal(certificate.certificatePem, pki.client.cert.toString());
  assert.equal(certificate.keyPem, pki.client.key.toString());
  assert.equal(certificate.allowsClientAuth, true);
  const shown = JSON.stringify(redactConfigForAdmin(result.config!));
  assert.match(shown, /"backendClientCertificate":\{"secret":"default\/gateway-client","notAfter":"[^"]+"\}/);
  assert.doesNotMatch(shown, /PRIVATE KEY|CERTIFICATE-----/);
});

test("the experimental channel's spec.backendTLS.clientCertificateRef loads the same way, and may repeat spec.tls.backend", () => {
  const experimental = load(gateway("  backendTLS:\n    clientCertificateRef: {name: gateway-client}\n") + secret("gateway-client", pki.client));
  assert.deepEqual(lines(experimental, "error"), []);
  assert.equal(experimental.config!.gateways[0]!.backendClientCertificate!.secret, "default/gateway-client");
  const both = load(
    gateway(backendTls("{name: gateway-client}") + "  backendTLS:\n    clientCertificateRef: {group: '', kind: Secret, name: gateway-client, namespace: default}\n") + secret("gateway-client", pki.client),
  );
  assert.deepEqual(lines(both, "error"), []);
  assert.equal(both.config!.gateways[0]!.backendClientCertificate!.secret, "default/gateway-client");
});

test("a Gateway without either field presents no client certificate", () => {
  const result = load(gateway(""));
  assert.deepEqual(lines(result, "error"), []);
  assert.equal(result.config!.gateways[0]!.backendClientCertificate, undefined);
});

test("a cross-namespace client certificate needs a ReferenceGrant from the Gateway", () => {
  const grant = `---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: gw-certs, namespace: certs}
spec:
  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: default}]
  to: [{group: "", kind: Secret, name: gateway-client}]
`;
  const text = gateway(backendTls("{name: gateway-client, namespace: certs}")) + secret("gateway-client", pki.client, "certs");
  assert.deepEqual(lines(load(text), "error"), [
    't.yaml:9:29: spec.tls.backend.clientCertificateRef: reference to Secret certs/gateway-client crosses namespaces and no ReferenceGrant in "certs" allows it (hint: add a ReferenceGrant in namespace "certs" with from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: default}] and to: [{group: "", kind: Secret, name: gateway-client}])',
  ]);
  const granted = load(text + grant);
  assert.deepEqual(lines(granted, "error"), []);
  assert.equal(granted.config!.gateways[0]!.backendClientCertificate!.secret, "certs/gateway-client");
});

test("each way the client certificate can be wrong is an error at the field that holds it", () => {
  const cases: [string, string][] = [
    [gateway(backendTls("{name: absent}")), "t.yaml:9:36: spec.tls.backend.clientCertificateRef.name: Secret default/absent is not in the config file"],
    [gateway(backendTls("{kind: ConfigMap, name: gateway-client}")) + secret("gateway-client", pki.client), "t.yaml:9:29: spec.tls.backend.clientCertificateRef: the client certificate for backends comes from a Secret, not ConfigMap"],
    [gateway(backendTls("{name: gateway-client}")) + secret("gateway-client", pki.client, "default", "Opaque"), "t.yaml:14:7: type: the client certificate for backends needs a Secret of type kubernetes.io/tls, not Opaque"],
    [
      gateway(backendTls("{name: gateway-client}") + "  backendTLS:\n    clientCertificateRef: {name: other-client}\n") + secret("gateway-client", pki.client),
      "t.yaml:11:27: spec.backendTLS.clientCertificateRef: spec.backendTLS.clientCertificateRef and spec.tls.backend.clientCertificateRef name different Secrets",
    ],
  ];
  for (const [text, expected] of cases) {
    const errors = lines(load(text), "error").map((l) => l.replace(/ \(hint: .*\)$/, ""));
    assert.deepEqual(errors, [expected]);
  }
  assert.deepEqual(lines(load(gateway("  tls:\n    backends: {}\n")), "error"), ['t.yaml:8:5: spec.tls.backends: unknown field "backends" (hint: did you mean "backend"?)']);
});

test("a certificate not meant for client authentication, or expired, loads with a warning saying upstreams will refuse it", () => {
  const serverAuth = load(gateway(backendTls("{name: server-only}")) + secret("server-only", serverOnly));
  assert.deepEqual(lines(serverAuth, "error"), []);
  assert.deepEqual(lines(serverAuth, "warning"), [
    "t.yaml:9:29: spec.tls.backend.clientCertificateRef: warning: the certificate in Secret default/server-only lists extended key usages without TLS client authentication: upstreams that check client certificates will refuse it (hint: issue the certificate with extendedKeyUsage = clientAuth)",
  ]);
  const expired = load(gateway(backendTls("{name: expired}")) + expiredSecretYaml);
  assert.deepEqual(lines(expired, "error"), []);
  assert.deepEqual(lines(expired, "warning"), [
    "t.yaml:15:17: data.tls.crt: warning: the certificate in tls.crt expired on Feb  1 00:00:00 2020 GMT: upstreams that ask for it will refuse it (hint: renew the certificate)",
  ]);
});

test("Gateways sharing a listener's port and hostname must present the same client certificate to backends", () => {
  const second = (tls: string): string =>
    `---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: second, namespace: default, creationTimestamp: "2030-01-01T00:00:00Z"}\nspec:\n  gatewayClassName: tollgate\n  listeners: [{name: web, protocol: HTTP, port: 8080}]\n${tls}`;
  const differ = load(gateway(backendTls("{name: gateway-client}")) + second("") + secret("gateway-client", pki.client));
  assert.deepEqual(lines(differ, "error"), [
    "t.yaml:6:15: spec.listeners[0]: port 8080 hostname (any) is also served by Gateway default/second, which presents another client certificate to backends (spec.tls.backend) (hint: give the listeners distinct hostnames or ports, or both Gateways the same clientCertificateRef)",
  ]);
  const same = load(gateway(backendTls("{name: gateway-client}")) + second(backendTls("{name: gateway-client}")) + secret("gateway-client", pki.client));
  assert.deepEqual(lines(same, "error"), []);
});
