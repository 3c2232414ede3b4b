// The heads the gateway writes itself on the upgrade path (a relayed 101, a relayed non-101
// answer, its own DirectResponse) carry header bytes above 0x7f as the one byte each that
// other paths send: undici reads an upstream's header bytes as latin1, and a config value
// such as `é` is one byte through node. A raw upstream and raw client see the bytes.
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { after, before, test } from "node:test";
import { GATEWAY_YAML, type GatewayUnderTest, backendYaml, ref, routeYaml, startGateway } from "./harness.ts";

let upstream: net.Server;
let gw: GatewayUnderTest;
const upstreamSockets = new Set<net.Socket>();

/** Answers `/switch` with a 101 and `/refuse` with a 403, each with a header value holding byte 0xE9. */
function rawUpstream(): net.Server {
  return net.createServer((socket) => {
    upstreamSockets.add(socket);
    let head = "";
    socket.on("data", (chunk: Buffer) => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      const answer = head.startsWith("GET /switch")
        ? "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Name: caf\xe9\r\n\r\n"
        : head.startsWith("GET /reason")
          ? // UTF-8 for U+010D U+010A: their low bytes are CR and LF.
            "HTTP/1.1 404 Not\xc4\x8d\xc4\x8aX-Evil: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno"
          : "HTTP/1.1 403 Forbidden\r\nX-Name: caf\xe9\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno";
      socket.write(Buffer.from(answer, "latin1"));
      head = "";
    });
    socket.on("error", () => {});
  });
}

before(async () => {
  upstream = rawUpstream();
  upstream.listen(0, "127.0.0.1");
  await once(upstream, "listening");
  gw = await startGateway(`${GATEWAY_YAML}${backendYaml("raw", (upstream.address() as net.AddressInfo).port)}${routeYaml(`    - matches: [{path: {type: PathPrefix, value: /direct}}]
      filters:
        - type: ExtensionRef
          extensionRef: {group: gateway.kgateway.dev, kind: DirectResponse, name: closed}
        - type: ResponseHeaderModifier
          responseHeaderModifier: {set: [{name: X-Name, value: "café"}]}
    - backendRefs: [${ref("raw")}]
`)}---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: DirectResponse
metadata: {name: closed, namespace: default}
spec:
  status: 403
  body: "closed"
`);
});

after(async () => {
  await gw?.close();
  for (const socket of upstreamSockets) socket.destroy();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

/** Sends an upgrade offer for `path` and returns the response head's bytes. */
function upgradeHead(path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(gw.port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      const all = Buffer.concat(chunks);
      const end = all.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.destroy();
      resolve(all.subarray(0, end + 4));
    });
    socket.on("error", reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: raw.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`);
  });
}

const ONE_BYTE = Buffer.from("x-name: caf\xe9\r\n", "latin1");

for (const [path, status] of [
  ["/switch", 101],
  ["/refuse", 403],
  ["/direct", 403],
] as const) {
  test(`an upgrade answered ${status} (${path}) carries a header byte above 0x7f as that one byte`, async () => {
    const head = await upgradeHead(path);
    assert.equal(head.toString("latin1").slice(9, 12), String(status));
    assert.ok(Buffer.from(head.toString("latin1").toLowerCase(), "latin1").includes(ONE_BYTE), `the head holds 0xE9 once: ${head.toString("hex")}`);
    assert.ok(!head.includes(Buffer.from("caf\u00e9", "utf8")), "not the UTF-8 pair C3 A9");
  });
}

test("an upstream reason phrase that is not plain ASCII is replaced by the standard one, so it cannot add a header", async () => {
  const head = (await upgradeHead("/reason")).toString("latin1");
  assert.ok(head.startsWith("HTTP/1.1 404 Not Found\r\n"), head);
  assert.ok(!/x-evil/i.test(head), `no injected header: ${JSON.stringify(head)}`);
});
