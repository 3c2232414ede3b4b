// An HTTPS listener's `tls.options` in the config (kgateway's `kgateway.dev/*` keys): what
// each becomes, and the exact text of each error or warning at the option that holds it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { redactConfigForAdmin } from "../../src/config/redact.ts";
import { type TestPki, createTestPki, tlsSecretYaml } from "../support/test-certs.ts";
import { lines, load } from "./helpers.ts";

let pki: TestPki;

before(async () => {
  pki = await createTestPki();
});
after(() => pki.remove());

/** A Gateway with HTTPS listeners `a` (options `optionsA`) and, when given, `b` on the same port (options `optionsB`). */
function gateway(optionsA: string, optionsB?: string): string {
  const listener = (name: string, hostname: string, options: string): string =>
    `  - name: ${name}\n    protocol: HTTPS\n    port: 8443\n    hostname: ${hostname}\n    tls:\n      certificateRefs: [{name: local-tls}]\n${options === "" ? "" : `      options:\n${options}`}`;
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: default}
spec:
  gatewayClassName: tollgate
  listeners:
${listener("a", "a.example", optionsA)}${optionsB === undefined ? "" : listener("b", "b.example", optionsB)}${tlsSecretYaml("local-tls", pki.server)}`;
}

test("the kgateway options become the port's TLS parameters: versions, ciphers by OpenSSL or standard name, groups, signature algorithms", () => {
  const result = load(
    gateway(`        kgateway.dev/min-tls-version: "1.2"
        kgateway.dev/max-tls-version: "1.3"
        kgateway.dev/cipher-suites: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, ECDHE-ECDSA-AES256-GCM-SHA384"
        kgateway.dev/ecdh-curves: "X25519, P-256"
        kgateway.dev/signature-algorithms: "ecdsa_secp256r1_sha256,rsa_pss_rsae_sha256"
        kgateway.dev/alpn-protocols: "http/1.1"
`),
  );
  assert.deepEqual(lines(result, "error"), []);
  const options = result.config!.gateways[0]!.listeners[0]!.tls!.options!;
  assert.deepEqual(options.parameters, {
    minVersion: "TLSv1.2",
    maxVersion: "TLSv1.3",
    ciphers: "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256",
    ecdhCurve: "X25519:P-256",
    sigalgs: "ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256",
  });
  assert.match(JSON.stringify(redactConfigForAdmin(result.config!)), /"options":\{"kgateway.dev\/min-tls-version":"1.2",/);
  const tls13Only = load(gateway('        kgateway.dev/cipher-suites: "TLS_AES_128_GCM_SHA256"\n'));
  const ciphers = tls13Only.config!.gateways[0]!.listeners[0]!.tls!.options!.parameters.ciphers!.split(":");
  assert.deepEqual(ciphers.filter((c) => c.startsWith("TLS_")), ["TLS_AES_128_GCM_SHA256"], "TLS 1.3 suites named replace OpenSSL's");
  assert.ok(ciphers.includes("ECDHE-ECDSA-AES128-GCM-SHA256"), "and TLS 1.2 keeps its defaults");
});

test("another implementation's option is ignored with a warning; no options at all leave OpenSSL's defaults", () => {
  const result = load(gateway('        example.com/tls-profile: "modern"\n'));
  assert.deepEqual(lines(result, "error"), []);
  assert.ok(lines(result, "warning").includes("t.yaml:14:34: spec.listeners[0].tls.options.example.com/tls-profile: warning: example.com/tls-profile is not one of the kgateway.dev/* options Tollgate reads: ignored (hint: Tollgate reads the kgateway.dev/* options kgateway defines (min-tls-version, max-tls-version, cipher-suites, ecdh-curves, signature-algorithms, alpn-protocols))"), lines(result, "warning").join("\n"));
  assert.equal(result.config!.gateways[0]!.listeners[0]!.tls!.options, undefined);
});

test("each option Tollgate cannot apply is an error at that option", () => {
  const cases: [string, string][] = [
    ['        kgateway.dev/min-tls-version: "TLSv1.2"\n', 'spec.listeners[0].tls.options.kgateway.dev/min-tls-version: "TLSv1.2" is not a TLS version Tollgate offers (hint: write "1.2" or "1.3")'],
    ['        kgateway.dev/min-tls-version: "1.1"\n', 'spec.listeners[0].tls.options.kgateway.dev/min-tls-version: "1.1" is not a TLS version Tollgate offers (hint: TLS 1.0 and 1.1 are not offered (insecure, and refused by OpenSSL\'s defaults); use 1.2 or 1.3)'],
    ['        kgateway.dev/min-tls-version: "1.3"\n        kgateway.dev/max-tls-version: "1.2"\n', "spec.listeners[0].tls.options.kgateway.dev/max-tls-version: the maximum TLS version TLSv1.2 is below the minimum TLSv1.3 (hint: raise the maximum or lower the minimum)"],
    ['        kgateway.dev/cipher-suites: "ECDHE-RSA-AES128-GCM-SHA256,RC5-NOPE"\n', "spec.listeners[0].tls.options.kgateway.dev/cipher-suites: unknown cipher suite RC5-NOPE"],
    // A name that is also an Object.prototype key is a name like any other.
    ['        kgateway.dev/cipher-suites: "constructor"\n', "spec.listeners[0].tls.options.kgateway.dev/cipher-suites: unknown cipher suite constructor"],
    ['        kgateway.dev/ecdh-curves: "X25519,P-999"\n', 'spec.listeners[0].tls.options.kgateway.dev/ecdh-curves: "X25519,P-999" holds a group OpenSSL does not know (hint: use names such as X25519, P-256, P-384, X25519MLKEM768)'],
    ['        kgateway.dev/signature-algorithms: "made_up_sha1"\n', 'spec.listeners[0].tls.options.kgateway.dev/signature-algorithms: "made_up_sha1" holds a signature algorithm OpenSSL does not know (hint: use TLS 1.3 names such as ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256)'],
    ['        kgateway.dev/alpn-protocols: "h2"\n', 'spec.listeners[0].tls.options.kgateway.dev/alpn-protocols: HTTP/1.1 is the only protocol an HTTPS listener speaks, and kgateway.dev/alpn-protocols leaves it out (hint: add "http/1.1")'],
    ['        kgateway.dev/alpn-protocols: "spdy/3,http/1.1"\n', 'spec.listeners[0].tls.options.kgateway.dev/alpn-protocols: unknown ALPN protocol spdy/3'],
    ['        kgateway.dev/cipher-suites: "ecdhe-rsa-aes128-gcm-sha256,ECDHE-ECDSA-AES128-GCM-SHA256"\n', "spec.listeners[0].tls.options.kgateway.dev/cipher-suites: unknown cipher suite ecdhe-rsa-aes128-gcm-sha256"],
    ['        kgateway.dev/ecdh-curves: " , "\n', "spec.listeners[0].tls.options.kgateway.dev/ecdh-curves: kgateway.dev/ecdh-curves is empty (hint: list at least one value, or remove the option)"],
    ['        kgateway.dev/verify-subject-alt-names: "client.example"\n', "spec.listeners[0].tls.options.kgateway.dev/verify-subject-alt-names: kgateway.dev/verify-subject-alt-names (checks on the client's certificate) is not supported yet (hint: remove it; spec.tls.frontend checks client certificates against CAs)"],
    ['        kgateway.dev/min-tls-versions: "1.3"\n', "spec.listeners[0].tls.options.kgateway.dev/min-tls-versions: unknown TLS option kgateway.dev/min-tls-versions"],
  ];
  for (const [options, expected] of cases) {
    const errors = lines(load(gateway(options)), "error").map((l) => l.replace(/^t\.yaml:\d+:\d+: /, ""));
    assert.equal(errors.length, 1, `${options}: ${errors.join("\n")}`);
    assert.ok(errors[0]!.startsWith(expected), `${errors[0]}\n  should start with\n${expected}`);
  }
});

test("kgateway's ALPN defaults load: h2 beside http/1.1 is a warning (clients offering both get HTTP/1.1), allow-empty is accepted", () => {
  const result = load(gateway('        kgateway.dev/alpn-protocols: "h2,http/1.1,allow-empty"\n'));
  assert.deepEqual(lines(result, "error"), []);
  assert.ok(lines(result, "warning").some((l) => l.includes("h2 is not offered")), lines(result, "warning").join("\n"));
});

test("listeners sharing a port must have the same options: the port offers one set of versions and ciphers", () => {
  const differ = load(gateway('        kgateway.dev/min-tls-version: "1.3"\n', ""));
  assert.deepEqual(lines(differ, "error"), [
    't.yaml:20:7: spec.listeners[1].tls: port 8443 is also served by listener "a" with other tls.options; a port offers one set of TLS versions and ciphers (hint: give every HTTPS listener of the port the same tls.options, or move this one to another port)',
  ]);
  const same = load(gateway('        kgateway.dev/min-tls-version: "1.2"\n        kgateway.dev/max-tls-version: "1.3"\n', '        kgateway.dev/max-tls-version: "1.3"\n        kgateway.dev/min-tls-version: "1.2"\n'));
  assert.deepEqual(lines(same, "error"), [], "the same options in another order agree");
  const otherGateway = `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: other, namespace: default, creationTimestamp: "2030-01-01T00:00:00Z"}
spec:
  gatewayClassName: tollgate
  listeners:
  - {name: c, protocol: HTTPS, port: 8443, hostname: c.example, tls: {certificateRefs: [{name: local-tls}]}}
`;
  const acrossGateways = load(gateway('        kgateway.dev/min-tls-version: "1.3"\n') + otherGateway);
  assert.deepEqual(lines(acrossGateways, "error").map((l) => l.replace(/ \(hint: .*\)$/, "")), [
    't.yaml:14:9: spec.listeners[0].tls.options: port 8443 is also served by listener "c" of Gateway default/other with other tls.options; a port offers one set of TLS versions and ciphers',
  ]);
});
