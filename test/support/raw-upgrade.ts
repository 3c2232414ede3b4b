// A raw upstream and client for the upgrade path, where node's HTTP parsers would hide the
// bytes: the upstream answers `/switch` with a 101, `/reason` with a reason phrase that is
// not ASCII, anything else with a 403; each answer carries `X-Name: café` as latin1 bytes,
// and the 101 and the 403 a CORS grant to any origin, with credentials. The 101 echoes an
// x-envoy-basic-auth-user it got as X-Seen-User, its request target as X-Seen-Target and its Host as X-Seen-Host.
import { once } from "node:events";
import net from "node:net";

const CORS_GRANT = "Access-Control-Allow-Origin: https://evil.example\r\nAccess-Control-Allow-Credentials: true\r\n";

export interface RawUpgradeUpstream {
  readonly port: number;
  /** Connections accepted so far: which of several upstreams an upgrade reached. */
  readonly accepted: number;
  close(): Promise<void>;
}

export async function startRawUpgradeUpstream(): Promise<RawUpgradeUpstream> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    let head = "";
    socket.on("data", (chunk: Buffer) => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      const user = /\r\nx-envoy-basic-auth-user: ([^\r]*)\r\n/i.exec(head)?.[1];
      const host = /\r\nhost: ([^\r]*)\r\n/i.exec(head)?.[1] ?? "";
      const answer = head.startsWith("GET /switch")
        ? `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Name: caf\xe9\r\n${user === undefined ? "" : `X-Seen-User: ${user}\r\n`}X-Seen-Target: ${head.split(" ", 2)[1]}\r\nX-Seen-Host: ${host}\r\n${CORS_GRANT}\r\n`
        : head.startsWith("GET /reason")
          ? // UTF-8 for U+010D U+010A: their low bytes are CR and LF.
            "HTTP/1.1 404 Not\xc4\x8d\xc4\x8aX-Evil: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno"
          : `HTTP/1.1 403 Forbidden\r\nX-Name: caf\xe9\r\n${CORS_GRANT}Content-Length: 2\r\nConnection: close\r\n\r\nno`;
      socket.write(Buffer.from(answer, "latin1"));
      head = "";
    });
    socket.on("error", () => {});
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as net.AddressInfo).port,
    get accepted() {
      return accepted;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Sends a WebSocket upgrade offer for `path` (with `headers` beside its own) to the gateway and returns the response head's bytes. */
export function upgradeHead(port: number, path: string, headers: Record<string, string> = {}, host = "raw.example", method = "GET"): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
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
    const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join("");
    socket.write(`${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n${extra}\r\n`);
  });
}

/** The head's header lines as lower-cased `name: value` strings, in order. */
export function headLines(head: Buffer): string[] {
  return head.toString("latin1").split("\r\n").slice(1).filter((line) => line !== "").map((line) => line.toLowerCase());
}
