// An HTTPS listener's `tls.options` on the wire: real TLS clients offering other versions,
// ciphers and groups against listeners that have a hostname (so SNI picks their context
// after OpenSSL has settled the version and cipher from the port's), and a reload that
// changes the options for the handshakes after it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import tls from "node:tls";
import { applyListenerSettings } from "../../src/proxy/listener.ts";
import { type TestPki, createTestPki, tlsSecretYaml } from "../support/test-certs.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { CONFIG_PORT, type GatewayUnderTest, backendYaml, catchAllRouteYaml, compileYaml, startGateway } from "./harness.ts";

let pki: TestPki;
let app: TestUpstream;
let modern: GatewayUnderTest;
let legacy: GatewayUnderTest;

function config(options: string): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: default}
spec:
  gatewayClassName: tollgate
  listeners:
  - name: https
    protocol: HTTPS
    port: ${CONFIG_PORT}
    hostname: localhost
    tls:
      certificateRefs: [{name: local-tls}]
${options === "" ? "" : `      options:\n${options}`}${catchAllRouteYaml("app")}${backendYaml("app", app.port)}${tlsSecretYaml("local-tls", pki.server)}`;
}

const MODERN = '        kgateway.dev/min-tls-version: "1.3"\n        kgateway.dev/ecdh-curves: "P-384"\n';
const LEGACY = '        kgateway.dev/max-tls-version: "1.2"\n        kgateway.dev/cipher-suites: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"\n';

/** A handshake with SNI localhost: what it settled, or the error that ended it. */
async function handshake(port: number, options: tls.ConnectionOptions = {}): Promise<{ version: string; cipher: string } | { error: string }> {
  const socket = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca: pki.ca, ...options });
  try {
    // `once` would reject on the error event: the handshake's failure is an outcome here.
    return await new Promise((resolve) => {
      socket.once("secureConnect", () => resolve({ version: socket.getProtocol() ?? "", cipher: socket.getCipher().name }));
      socket.once("error", (error: Error & { code?: string }) => resolve({ error: error.code ?? error.message }));
    });
  } finally {
    socket.destroy();
  }
}

before(async () => {
  pki = await createTestPki();
  app = await startUpstream("app");
  modern = await startGateway(config(MODERN));
  legacy = await startGateway(config(LEGACY));
});

after(async () => {
  await Promise.all([modern?.close(), legacy?.close()]);
  await Promise.all([app?.close(), pki?.remove()]);
});

test("min-tls-version 1.3 refuses a TLS 1.2 client; ecdh-curves leaves a client without a common group out", async () => {
  assert.deepEqual(await handshake(modern.port, { ecdhCurve: "P-384" }), { version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384" });
  assert.ok("error" in (await handshake(modern.port, { maxVersion: "TLSv1.2", ecdhCurve: "P-384" })), "TLS 1.2 is not offered");
  assert.ok("error" in (await handshake(modern.port, { ecdhCurve: "X25519" })), "no common key-exchange group");
  const reasons = [...(modern.stats.tlsHandshakeErrors?.entries() ?? [])].filter(([, reason]) => reason === "protocol").reduce((n, [, , count]) => n + count, 0);
  assert.equal(reasons, 2, "both refusals are counted as protocol failures");
});

test("max-tls-version 1.2 with one cipher suite: every client gets TLS 1.2 and that suite, by its OpenSSL name", async () => {
  assert.deepEqual(await handshake(legacy.port), { version: "TLSv1.2", cipher: "ECDHE-ECDSA-AES256-GCM-SHA384" });
  assert.ok("error" in (await handshake(legacy.port, { ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256" })), "a client without the suite is refused");
});

test("a reload that changes the options applies to the handshakes after it", async () => {
  modern.plan = compileYaml(config(""), 2);
  const listener = modern.plan.listenerByPort.get(CONFIG_PORT)!;
  applyListenerSettings(modern.server, listener.settings, listener.tls);
  // Each client was refused before the reload.
  assert.deepEqual(await handshake(modern.port, { maxVersion: "TLSv1.2" }), { version: "TLSv1.2", cipher: "ECDHE-ECDSA-AES128-GCM-SHA256" });
  assert.deepEqual(await handshake(modern.port, { ecdhCurve: "X25519" }), { version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384" });

  modern.plan = compileYaml(config(MODERN), 3);
  const again = modern.plan.listenerByPort.get(CONFIG_PORT)!;
  applyListenerSettings(modern.server, again.settings, again.tls);
  assert.ok("error" in (await handshake(modern.port, { maxVersion: "TLSv1.2" })), "a reload that adds options applies them too");
});
