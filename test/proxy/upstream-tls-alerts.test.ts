// What a TLS error on an upstream connection becomes, by when it comes: a TLS 1.3 refusal
// before the upstream sent anything is a TLS failure (test/proxy/backend-client-certificate
// has those); a TLS error in the middle of a response is the upstream breaking a working
// connection, reported as the same reset as a connection cut at that point. The upstreams
// are real TLS servers on 127.0.0.1 that, mid-body, either write a record that cannot be
// decrypted onto the TCP stream or cut it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import net, { type AddressInfo } from "node:net";
import tls from "node:tls";
import { once } from "node:events";
import { type TestPki, createTestPki, issueServerCertificate } from "../support/test-certs.ts";
import { type GatewayUnderTest, GATEWAY_YAML, ask, backendTlsPolicyYaml, backendYaml, caConfigMapYaml, ref, routeYaml, startGateway } from "./harness.ts";
import { RecordingTelemetry } from "./recording-telemetry.ts";

const NAME = "api.internal.test";

/**
 * Terminates TLS itself over each TCP connection, so it can reach under the TLS layer: it
 * answers 200 with the first half of a 2,000-byte body, then `breakOff` the raw socket
 * (beneath TLS: no close_notify is sent).
 */
async function startBreakingUpstream(context: tls.SecureContext, breakOff: (raw: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer((raw) => {
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: context });
    secure.once("data", () => {
      secure.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2000\r\n\r\n" + "x".repeat(1000), () => setTimeout(() => breakOff(raw), 20));
    });
    secure.on("error", () => raw.destroy());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return server;
}

let pki: TestPki;
let garbling: net.Server;
let cutting: net.Server;
let gw: GatewayUnderTest;
const telemetry = new RecordingTelemetry();

before(async () => {
  pki = await createTestPki();
  const pair = await issueServerCertificate(pki, "api", [NAME]);
  const context = tls.createSecureContext({ cert: pair.cert, key: pair.key });
  // An application-data record of 32 bytes the client's keys cannot decrypt (its TLS layer
  // fails with ERR_SSL_*), then the end of the stream, as a peer that sends an alert closes.
  garbling = await startBreakingUpstream(context, (raw) => raw.end(Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x20]), Buffer.alloc(32, 0xab)])));
  cutting = await startBreakingUpstream(context, (raw) => raw.end());
  gw = await startGateway(
    GATEWAY_YAML +
      backendYaml("garbling", (garbling.address() as AddressInfo).port) +
      backendYaml("cutting", (cutting.address() as AddressInfo).port) +
      backendTlsPolicyYaml("garbling", "ca", NAME) +
      backendTlsPolicyYaml("cutting", "ca", NAME) +
      caConfigMapYaml("ca", pki.ca) +
      routeYaml(
        `    - matches: [{path: {type: PathPrefix, value: /garbled}}]\n      backendRefs: [${ref("garbling")}]\n` +
          `    - matches: [{path: {type: PathPrefix, value: /cut}}]\n      backendRefs: [${ref("cutting")}]\n`,
      ),
    telemetry,
  );
});

after(async () => {
  await gw?.close();
  garbling?.close();
  cutting?.close();
  await pki?.remove();
});

test("a TLS error in the middle of a response is reported as the reset a cut there is, not as a TLS handshake failure", async () => {
  const garbled = await ask(gw.port, { path: "/garbled" }).then(
    (reply) => ({ status: reply.status, bytes: reply.body.length }),
    (error: Error) => ({ error: error.message }),
  );
  const cut = await ask(gw.port, { path: "/cut" }).then(
    (reply) => ({ status: reply.status, bytes: reply.body.length }),
    (error: Error) => ({ error: error.message }),
  );
  assert.deepEqual(garbled, cut, "the client sees the same truncated answer");
  const [garbledExchange, cutExchange] = await Promise.all([telemetry.endOf("/garbled"), telemetry.endOf("/cut")]);
  assert.notEqual(garbledExchange.errorType, undefined, "the broken response is an error");
  assert.deepEqual(
    [garbledExchange.errorType, garbledExchange.responseFlags, garbledExchange.status],
    [cutExchange.errorType, cutExchange.responseFlags, cutExchange.status],
  );
  assert.notEqual(garbledExchange.errorType, "tls_handshake_failed");
});
