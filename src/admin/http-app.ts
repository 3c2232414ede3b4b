// Shared shape of the two fastify listeners: JSON 404s naming the endpoints that exist,
// JSON 405s for a method an endpoint does not take, JSON 500s, no request logging (the
// gateway's own log stays about the gateway). Every endpoint is read-only: GET, and the
// HEAD fastify derives from it.
import fastify, { type FastifyInstance } from "fastify";
import type { AddressInfo } from "node:net";
import type { HostPort } from "../server/settings.ts";

const READ_ONLY_METHODS = "GET, HEAD";

export function createJsonApp(listenerName: string, endpoints: readonly string[]): FastifyInstance {
  const app = fastify({ logger: false, return503OnClosing: false });
  const known = new Set(endpoints);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0] ?? "";
    if (known.has(path)) {
      void reply.code(405).header("allow", READ_ONLY_METHODS).send({
        error: "method_not_allowed",
        message: `${path} takes ${READ_ONLY_METHODS}, not ${request.method}`,
      });
      return;
    }
    void reply.code(404).send({
      error: "not_found",
      message: `${request.method} ${path} is not ${/^[aeiou]/.test(listenerName) ? "an" : "a"} ${listenerName} endpoint`,
      endpoints,
    });
  });
  app.setErrorHandler((error: unknown, _request, reply) => {
    const statusCode = (error as { statusCode?: unknown } | null)?.statusCode;
    const status = typeof statusCode === "number" && statusCode >= 400 ? statusCode : 500;
    const message = error instanceof Error ? error.message : String(error);
    void reply.code(status).send({ error: status === 500 ? "internal_error" : "bad_request", message });
  });
  return app;
}

export async function listenApp(app: FastifyInstance, addr: HostPort): Promise<HostPort> {
  await app.listen({ host: addr.host, port: addr.port });
  const bound = app.server.address() as AddressInfo;
  return { host: addr.host, port: bound.port };
}
