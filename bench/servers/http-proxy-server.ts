// The http-proxy server shared by the plain and the OTel-instrumented scenarios. Modules
// come through the given `require` so that, in the instrumented scenario, they are loaded
// after the SDK has patched node:http (ESM imports of node:http are not patched).
import type * as Http from "node:http";
import type HttpProxy from "http-proxy";

export function startHttpProxy(require: NodeJS.Require, upstream: string): Promise<number> {
  const http = require("node:http") as typeof Http;
  const httpProxy = require("http-proxy") as typeof HttpProxy;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
  const proxy = httpProxy.createProxyServer({ target: upstream, agent });
  proxy.on("error", (_error, _req, res) => {
    if ("writeHead" in res && !res.headersSent) res.writeHead(502, { "content-type": "application/json" });
    res.end('{"error":"upstream failed"}');
  });
  const server = http.createServer((req, res) => proxy.web(req, res));
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : 0);
    });
  });
}
