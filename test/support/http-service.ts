// A plain HTTP service on 127.0.0.1 for a test's side parts (an authorization service, a
// limiter): the handler answers, `close` ends open connections and the listener.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { once } from "node:events";

export interface HttpService {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHttpService(handler: http.RequestListener): Promise<HttpService> {
  const server = http.createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
