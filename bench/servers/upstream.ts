// The fallback upstream when nginx is not installed: the cheapest possible 200.
import { createServer } from "node:http";
import { announceReady, guard } from "./guard.ts";

guard();
const body = Buffer.from("ok\n");
const server = createServer((req, res) => {
  req.resume();
  res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  announceReady({ port: typeof address === "object" && address !== null ? address.port : 0 });
});
