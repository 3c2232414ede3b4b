// A TCP pass-through between the gateway's OTLP exporter and the collector that keeps a
// copy of the bytes, so a test can see what went over the wire: the HTTP Content-Encoding
// of each export and the collector's status line, or for gRPC the compressed flag of each
// message. The collector itself does not record how a request was encoded.
import { connect, createServer, type Server, type Socket } from "node:net";

export interface Conversation {
  toServer: Buffer;
  toClient: Buffer;
}

export interface WireTap {
  /** `http://127.0.0.1:<port>`: point the exporter here. */
  readonly url: string;
  readonly conversations: Conversation[];
  close(): Promise<void>;
}

export async function startWireTap(target: string): Promise<WireTap> {
  const { hostname, port } = new URL(target);
  const conversations: Conversation[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const c: Conversation = { toServer: Buffer.alloc(0), toClient: Buffer.alloc(0) };
    conversations.push(c);
    const upstream = connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    client.on("data", (d: Buffer) => {
      c.toServer = Buffer.concat([c.toServer, d]);
      upstream.write(d);
    });
    upstream.on("data", (d: Buffer) => {
      c.toClient = Buffer.concat([c.toClient, d]);
      client.write(d);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("tap has no port");
  return {
    url: `http://127.0.0.1:${address.port}`,
    conversations,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface HttpExport {
  readonly path: string;
  readonly contentType: string;
  /** `identity` when the header is absent. */
  readonly contentEncoding: string;
  readonly authorization: string | undefined;
}

/** The OTLP/HTTP requests in the tapped bytes (request lines and headers only). */
export function httpExports(tap: WireTap): HttpExport[] {
  const out: HttpExport[] = [];
  for (const c of tap.conversations) {
    const text = c.toServer.toString("latin1");
    for (const m of text.matchAll(/POST (\/v1\/(?:traces|logs|metrics)) HTTP\/1\.1\r\n([\s\S]*?)\r\n\r\n/g)) {
      const headers = new Map<string, string>();
      for (const line of (m[2] ?? "").split("\r\n")) {
        const colon = line.indexOf(":");
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      out.push({
        path: m[1] ?? "",
        contentType: headers.get("content-type") ?? "",
        contentEncoding: headers.get("content-encoding") ?? "identity",
        authorization: headers.get("authorization"),
      });
    }
  }
  return out;
}

/** Status codes of the collector's HTTP responses. */
export function httpStatuses(tap: WireTap): number[] {
  return tap.conversations.flatMap((c) => [...c.toClient.toString("latin1").matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1])));
}

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * For every gRPC request message the client sent, its Compressed-Flag byte (1 = the message
 * is compressed with the grpc-encoding the client announced). Reads the HTTP/2 frames of
 * the client side and the 5-byte gRPC message prefix at the start of each stream's data.
 */
export function grpcCompressedFlags(tap: WireTap): number[] {
  const flags: number[] = [];
  for (const c of tap.conversations) {
    const buf = c.toServer;
    if (buf.length < H2_PREFACE.length || !buf.subarray(0, H2_PREFACE.length).equals(H2_PREFACE)) continue;
    const streamData = new Map<number, Buffer>();
    let at = H2_PREFACE.length;
    while (at + 9 <= buf.length) {
      const length = buf.readUIntBE(at, 3);
      const type = buf[at + 3];
      const frameFlags = buf[at + 4] ?? 0;
      const stream = buf.readUInt32BE(at + 5) & 0x7fffffff;
      let payload = buf.subarray(at + 9, at + 9 + length);
      at += 9 + length;
      if (type !== 0) continue; // DATA frames only
      if (frameFlags & 0x08) payload = payload.subarray(1, payload.length - (payload[0] ?? 0)); // PADDED
      streamData.set(stream, Buffer.concat([streamData.get(stream) ?? Buffer.alloc(0), payload]));
    }
    for (const data of streamData.values()) {
      // A stream carries one unary request: [flag][length u32][message].
      if (data.length >= 5) flags.push(data[0] ?? -1);
    }
  }
  return flags;
}
