// HTTPS listeners in the config: the kubernetes.io/tls Secrets they name, read and checked at
// load, and the exact text of each error or warning at the field that holds the problem.
// Certificates are made with the system openssl for each run.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { redactConfigForAdmin } from "../../src/config/redact.ts";
import { type PemPair, type TestPki, createTestPki, issueServerCertificate } from "../support/test-certs.ts";
import { lines, load } from "./helpers.ts";

let pki: TestPki;
let shop: PemPair;
let wildcard: PemPair;
let expired: PemPair;
let future: PemPair;
let rsaShop: PemPair;

before(async () => {
  pki = await createTestPki();
  shop = await issueServerCertificate(pki, "shop", ["shop.example"]);
  wildcard = await issueServerCertificate(pki, "wildcard", ["*.example.net"]);
  expired = await issueServerCertificate(pki, "expired", ["shop.example"], { notBefore: "20200101000000Z", notAfter: "20200201000000Z" });
  future = await issueServerCertificate(pki, "future", ["shop.example"], { notBefore: "20990101000000Z", notAfter: "20990201000000Z" });
  rsaShop = await issueServerCertificate(pki, "rsa-shop", ["shop.example"], { keyType: "rsa" });
});
after(() => pki.remove());

const b64 = (pem: Buffer | string): string => Buffer.from(pem).toString("base64");

const gateway = (listeners: string, namespace = "default"): string => `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ${namespace}}
spec:
  gatewayClassName: tollgate
  listeners:
${listeners}`;

const httpsListener = (name: string, extra = "", certificateRefs = "[{name: shop-tls}]"): string => `  - name: ${name}
    port: 8443
    protocol: HTTPS
${extra}    tls:
      mode: Terminate
      certificateRefs: ${certificateRefs}
`;

const secret = (name: string, pair: PemPair, namespace = "default", type = "kubernetes.io/tls"): string => `---
apiVersion: v1
kind: Secret
metadata: {name: ${name}, namespace: ${namespace}}
type: ${type}
data:
  tls.crt: ${b64(pair.cert)}
  tls.key: ${b64(pair.key)}
`;

test("an HTTPS listener loads with its certificate, read from a base64 kubernetes.io/tls Secret; the Secret is not listed as skipped", () => {
  const result = load(gateway(httpsListener("https", "    hostname: shop.example\n")) + secret("shop-tls", shop));
  assert.deepEqual(lines(result, "error"), []);
  assert.deepEqual(lines(result, "warning"), []);
  assert.deepEqual(lines(result, "info"), []);
  const listener = result.config!.gateways[0]!.listeners[0]!;
  assert.equal(listener.protocol, "HTTPS");
  assert.equal(listener.tls!.certificates.length, 1);
  const certificate = listener.tls!.certificates[0]!;
  assert.equal(certificate.secret, "default/shop-tls");
  assert.equal(certificate.certificatePem, shop.cert.toString());
  assert.equal(certificate.keyPem, shop.key.toString());
  assert.ok(listener.tls!.contextFor(undefined), "a TLS context is built from it");
});

test("stringData is read over data; of several certificates, a handshake gets the first valid for the name it asked for, else the first", () => {
  const plain = `---
apiVersion: v1
kind: Secret
metadata: {name: net-tls}
type: kubernetes.io/tls
data:
  tls.crt: ${b64("not what is used")}
stringData:
  tls.crt: |
${wildcard.cert.toString().trimEnd().replace(/^/gm, "    ")}
  tls.key: |
${wildcard.key.toString().trimEnd().replace(/^/gm, "    ")}
`;
  const result = load(gateway(httpsListener("https", "", "[{name: shop-tls}, {kind: Secret, group: '', name: net-tls}, {name: rsa-tls}]")) + secret("shop-tls", shop) + plain + secret("rsa-tls", rsaShop));
  assert.deepEqual(lines(result, "error"), []);
  const tls = result.config!.gateways[0]!.listeners[0]!.tls!;
  assert.deepEqual(tls.certificates.map((c) => c.secret), ["default/shop-tls", "default/net-tls", "default/rsa-tls"]);
  assert.equal(tls.certificates[1]!.certificatePem.trimEnd(), wildcard.cert.toString().trimEnd());
  assert.deepEqual(tls.defaultContextOptions(), { cert: shop.cert.toString(), key: shop.key.toString() }, "a handshake without SNI gets the first");
  const first = tls.contextFor(undefined);
  assert.equal(tls.contextFor("shop.example"), first, "the RSA certificate covers shop.example too, but comes later");
  assert.equal(tls.contextFor("other.example"), first, "a name no certificate covers gets the first");
  const second = tls.contextFor("api.example.net");
  assert.notEqual(second, first, "a name only the second certificate covers gets it");
  assert.equal(tls.contextFor("API.example.net"), second);
});

test("the admin view of the config names the Secrets and never shows a key or a certificate", () => {
  const result = load(gateway(httpsListener("https")) + secret("shop-tls", shop));
  const shown = JSON.stringify(redactConfigForAdmin(result.config!));
  assert.match(shown, /"secret":"default\/shop-tls"/);
  assert.match(shown, /"notAfter":"[A-Z][a-z]{2} +\d+ [\d:]+ \d{4} GMT"/);
  assert.doesNotMatch(shown, /PRIVATE KEY|CERTIFICATE/);
  const keyBody = shop.key.toString().split("\n")[1]!;
  assert.ok(!shown.includes(keyBody.slice(0, 20)), "no line of the key");
  assert.doesNotMatch(JSON.stringify(result.config), /PRIVATE KEY/, "nor does the plain JSON of the resolved config");
});

test("each way an HTTPS listener or its Secret can be wrong is an error at the field that holds it", () => {
  const cases: [string, string][] = [
    [
      gateway("  - name: https\n    port: 8443\n    protocol: HTTPS\n"),
      "t.yaml:7:5: spec.listeners[0]: an HTTPS listener needs tls with certificateRefs (hint: add tls: {mode: Terminate, certificateRefs: [{kind: Secret, name: ...}]})",
    ],
    [
      gateway("  - name: https\n    port: 8443\n    protocol: HTTPS\n    tls: {mode: Passthrough}\n"),
      "t.yaml:10:17: spec.listeners[0].tls.mode: Passthrough is for TLS listeners (TLSRoute), which are not supported yet; an HTTPS listener terminates TLS (hint: use mode: Terminate)",
    ],
    [
      gateway("  - name: https\n    port: 8443\n    protocol: HTTPS\n    tls: {certificateRefs: []}\n"),
      "t.yaml:10:28: spec.listeners[0].tls.certificateRefs: an HTTPS listener that terminates TLS needs at least one certificate (hint: add certificateRefs: [{kind: Secret, name: ...}] naming a kubernetes.io/tls Secret)",
    ],
    [
      gateway(httpsListener("https")),
      "t.yaml:12:32: spec.listeners[0].tls.certificateRefs[0].name: Secret default/shop-tls is not in the config file (hint: add the kubernetes.io/tls Secret to the file; make one with: kubectl create secret tls NAME --cert=tls.crt --key=tls.key --dry-run=client -o yaml)",
    ],
    [
      gateway(httpsListener("https", "", "[{kind: ConfigMap, name: shop-tls}]")) + secret("shop-tls", shop),
      'spec.listeners[0].tls.certificateRefs[0]: a listener certificate comes from a Secret, not ConfigMap (hint: reference a kubernetes.io/tls Secret: {kind: Secret, name: ...} (group ""))',
    ],
    [
      gateway(httpsListener("https", "", "[{name: shop-tls, namespace: certs}]")) + secret("shop-tls", shop, "certs"),
      'spec.listeners[0].tls.certificateRefs[0]: reference to Secret certs/shop-tls crosses namespaces and no ReferenceGrant in "certs" allows it',
    ],
    [gateway(httpsListener("https")) + secret("shop-tls", shop, "default", "Opaque"), "t.yaml:17:7: type: a listener certificate needs a Secret of type kubernetes.io/tls, not Opaque"],
    [
      gateway(httpsListener("https")) + secret("shop-tls", shop).replace(/tls\.key: .*/, "tls.key: not*base64"),
      "t.yaml:20:12: data.tls.key: data.tls.key is not base64 (hint: data values are base64 of the PEM text (base64 -w0 FILE); put the PEM text under stringData instead)",
    ],
    [gateway(httpsListener("https")) + secret("shop-tls", shop).replace(/  tls\.key: .*\n/, ""), "t.yaml:19:3: data: the Secret has no tls.key"],
    [gateway(httpsListener("https")) + secret("shop-tls", { cert: Buffer.from("hello"), key: shop.key }), "t.yaml:19:12: data.tls.crt: tls.crt holds no PEM certificate"],
    [gateway(httpsListener("https")) + secret("shop-tls", { cert: shop.cert, key: Buffer.from("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") }), "t.yaml:20:12: data.tls.key: tls.key holds no usable private key: "],
    [
      gateway(httpsListener("https")) + secret("shop-tls", { cert: shop.cert, key: wildcard.key }),
      "t.yaml:20:12: data.tls.key: tls.key is not the private key of the certificate in tls.crt (hint: put the key the certificate was issued for)",
    ],
    [
      gateway("  - name: web\n    port: 8443\n    protocol: HTTP\n" + httpsListener("https", "    hostname: shop.example\n")) + secret("shop-tls", shop),
      't.yaml:12:15: spec.listeners[1].protocol: listener "https" serves HTTPS on port 8443, where listeners[0] serves HTTP (hint: a port speaks one protocol: move one of them to another port)',
    ],
    [
      gateway("  - name: web\n    port: 8080\n    protocol: HTTP\n    tls: {certificateRefs: [{name: shop-tls}]}\n"),
      "t.yaml:10:10: spec.listeners[0].tls: tls is not supported on an HTTP listener (hint: remove tls, or use protocol: HTTPS)",
    ],
    [gateway("  - name: tls\n    port: 8443\n    protocol: TLS\n"), "t.yaml:9:15: spec.listeners[0].protocol: TLS listeners (TLSRoute, passthrough) are not supported yet (hint: use protocol: HTTPS to terminate TLS at the gateway)"],
    [
      gateway(httpsListener("https", "", "[{name: shop-tls}]\n      frontendValidation: {caCertificateRefs: [{name: ca}]}")) + secret("shop-tls", shop),
      "t.yaml:13:27: spec.listeners[0].tls.frontendValidation: a listener's frontendValidation (Gateway API before v1.4) is not read: client certificate validation binds to a port, not a listener (hint: move it to the Gateway's spec.tls.frontend: {default: {validation: {caCertificateRefs: [...]}}}, or perPort for this port)",
    ],
  ];
  const mismatches: string[] = [];
  for (const [text, expected] of cases) {
    const found = lines(load(text), "error");
    if (!(found.length === 1 && found[0]!.includes(expected))) mismatches.push(`expected one error with\n  ${expected}\ngot\n  ${found.join("\n  ")}`);
  }
  assert.deepEqual(mismatches, []);
});

test("a cross-namespace Secret loads with a ReferenceGrant from the Gateway", () => {
  const grant = `---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: gw-certs, namespace: certs}
spec:
  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: edge}]
  to: [{group: "", kind: Secret, name: shop-tls}]
`;
  const result = load(gateway(httpsListener("https", "", "[{name: shop-tls, namespace: certs}]"), "edge") + secret("shop-tls", shop, "certs") + grant);
  assert.deepEqual(lines(result, "error"), []);
  assert.equal(result.config!.gateways[0]!.listeners[0]!.tls!.certificates[0]!.secret, "certs/shop-tls");
});

test("two Gateways cannot serve HTTP and HTTPS on one port", () => {
  const other = `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: plain}
spec:
  gatewayClassName: tollgate
  listeners:
  - {name: web, port: 8443, protocol: HTTP, hostname: other.example}
`;
  const found = lines(load(gateway(httpsListener("https", "    hostname: shop.example\n")) + secret("shop-tls", shop) + other), "error");
  assert.equal(found.length, 1, found.join("\n"));
  assert.match(found[0]!, /spec\.listeners\[0\]\.protocol: port 8443 serves HTTPS for Gateway default\/gw; one port cannot also serve HTTP \(hint: a port speaks one protocol/);
});

test("warnings: an expired or not yet valid certificate, a hostname no certificate covers, TLS options that are not Tollgate's", () => {
  const expiredLines = lines(load(gateway(httpsListener("https")) + secret("shop-tls", expired)), "warning");
  assert.deepEqual(expiredLines, ["t.yaml:19:12: data.tls.crt: warning: the certificate in tls.crt expired on Feb  1 00:00:00 2020 GMT: clients will refuse it (hint: renew the certificate)"]);
  const futureLines = lines(load(gateway(httpsListener("https")) + secret("shop-tls", future)), "warning");
  assert.deepEqual(futureLines, ["t.yaml:19:12: data.tls.crt: warning: the certificate in tls.crt is not valid before Jan  1 00:00:00 2099 GMT: clients will refuse it until then (hint: check the issuer's clock, or wait)"]);

  const uncovered = lines(load(gateway(httpsListener("https", "    hostname: api.example\n")) + secret("shop-tls", shop)), "warning");
  assert.deepEqual(uncovered, [
    't.yaml:10:15: spec.listeners[0].hostname: warning: no certificate of listener "https" is valid for api.example: clients that check the name will refuse the handshake (hint: add a certificate whose subjectAltName covers api.example to tls.certificateRefs)',
  ]);
  const coveredWildcard = load(gateway(httpsListener("https", "    hostname: '*.example.net'\n", "[{name: net-tls}]")) + secret("net-tls", wildcard));
  assert.deepEqual(lines(coveredWildcard, "warning"), [], "a wildcard certificate covers a wildcard listener");
  const narrower = lines(load(gateway(httpsListener("https", "    hostname: '*.example.net'\n", "[{name: shop-tls}]")) + secret("shop-tls", shop)), "warning");
  assert.equal(narrower.length, 1, "a certificate for one name does not cover a wildcard listener");

  const options = lines(load(gateway(httpsListener("https", "", "[{name: shop-tls}]\n      options: {min-version: '1.3'}")) + secret("shop-tls", shop)), "warning");
  assert.deepEqual(options, ["t.yaml:13:30: spec.listeners[0].tls.options.min-version: warning: min-version is not one of the kgateway.dev/* options Tollgate reads: ignored (hint: Tollgate reads the kgateway.dev/* options kgateway defines (min-tls-version, max-tls-version, cipher-suites, ecdh-curves, signature-algorithms, alpn-protocols))"]);
});

test("a Secret no listener names is not read, nor listed as skipped; no message quotes a Secret's values", () => {
  const unused = `${secret("unused", { cert: Buffer.from("x"), key: Buffer.from("y") }, "default", "Opaque")}stringData: {password: 73519024, nested: {a: 1}}
`;
  const result = load(gateway("  - {name: web, port: 8080, protocol: HTTP}\n") + unused);
  assert.deepEqual(lines(result, "error"), []);
  assert.deepEqual(lines(result, "warning"), []);
  assert.deepEqual(lines(result, "info"), []);

  const numeric = `---
apiVersion: v1
kind: Secret
metadata: {name: shop-tls}
type: kubernetes.io/tls
stringData: {tls.crt: 73519024, tls.key: 73519025}
`;
  const found = lines(load(gateway(httpsListener("https")) + numeric), "error");
  assert.deepEqual(found, [
    "t.yaml:18:23: stringData.tls.crt: stringData.tls.crt must be a string (the PEM text) (hint: write the PEM text as a YAML block scalar (|))",
    "t.yaml:18:42: stringData.tls.key: stringData.tls.key must be a string (the PEM text) (hint: write the PEM text as a YAML block scalar (|))",
  ]);
  const notMapping = lines(load(gateway(httpsListener("https")) + numeric.replace(/stringData: .*/, "data: [73519024]")), "error");
  assert.deepEqual(notMapping, ["t.yaml:18:7: data: data must be a mapping of names to strings (hint: write data: {tls.crt: ..., tls.key: ...})"]);
  for (const line of [...found, ...notMapping]) assert.doesNotMatch(line, /7351902/);
});

test("base64 wrapped over lines is read, as the API server reads it; two Secrets of one name are an error where a listener names them", () => {
  const wrapped = secret("shop-tls", shop).replace(/tls\.crt: (\S+)/, (_m, b64text: string) => `tls.crt: >-\n    ${b64text.match(/.{1,76}/g)!.join("\n    ")}`);
  const result = load(gateway(httpsListener("https")) + wrapped);
  assert.deepEqual(lines(result, "error"), []);
  assert.equal(result.config!.gateways[0]!.listeners[0]!.tls!.certificates[0]!.certificatePem, shop.cert.toString());

  const twice = lines(load(gateway(httpsListener("https")) + secret("shop-tls", shop) + secret("shop-tls", shop)), "error");
  assert.deepEqual(twice, ["t.yaml:12:32: spec.listeners[0].tls.certificateRefs[0].name: the file holds 2 Secrets default/shop-tls (lines 14, 22) (hint: keep one of them)"]);
});
