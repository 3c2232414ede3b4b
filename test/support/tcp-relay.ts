// A TCP relay on 127.0.0.1 in front of a real server, which can make the connections it
// carries go silent without closing them: the bytes each side sends are taken by the kernel
// and never passed on, as when a peer freezes or a middlebox drops its flow. Connections
// made after that are relayed as usual.
import net from "node:net";
import { once } from "node:events";
import type { AddressInfo } from "node:net";

export interface TcpRelay {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections still open (neither side has closed). */
  readonly open: number;
  /** Stops relaying on every open connection, leaving them open. */
  silence(): void;
  close(): Promise<void>;
}

export async function startTcpRelay(targetPort: number): Promise<TcpRelay> {
  const pairs = new Set<{ readonly client: net.Socket; readonly server: net.Socket }>();
  let accepted = 0;
  const relay = net.createServer((client) => {
    accepted++;
    const server = net.connect(targetPort, "127.0.0.1");
    const pair = { client, server };
    pairs.add(pair);
    const end = (): void => {
      if (!pairs.delete(pair)) return;
      client.destroy();
      server.destroy();
    };
    for (const socket of [client, server]) {
      socket.on("error", end);
      socket.on("close", end);
    }
    client.pipe(server);
    server.pipe(client);
  });
  relay.listen(0, "127.0.0.1");
  await once(relay, "listening");
  return {
    port: (relay.address() as AddressInfo).port,
    get accepted() {
      return accepted;
    },
    get open() {
      return pairs.size;
    },
    silence() {
      for (const { client, server } of pairs) {
        client.unpipe(server);
        server.unpipe(client);
        client.pause();
        server.pause();
      }
    },
    async close() {
      for (const { client, server } of pairs) {
        client.destroy();
        server.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    },
  };
}
