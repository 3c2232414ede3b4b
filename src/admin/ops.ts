// The ops listener (default 0.0.0.0:15020): what Kubernetes probes and Prometheus scrape.
import type { FastifyInstance } from "fastify";
import { createJsonApp } from "./http-app.ts";
import type { MetricsEndpoint } from "./metrics-endpoint.ts";

export interface Readiness {
  readonly ready: boolean;
  /** `starting`, `ready`, `draining`, or `no_listeners` (the config names no Gateway listener). */
  readonly status: "starting" | "ready" | "draining" | "no_listeners";
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface OpsSources {
  /** Read per scrape, so telemetry can take over the endpoint after start. */
  metrics(): MetricsEndpoint;
  readiness(): Readiness;
}

export function createOpsApp(sources: OpsSources): FastifyInstance {
  const app = createJsonApp("ops", ["/metrics", "/healthz", "/readyz"]);
  app.get("/healthz", async () => ({ status: "alive" }));
  app.get("/readyz", async (_request, reply) => {
    const readiness = sources.readiness();
    void reply.code(readiness.ready ? 200 : 503);
    return { status: readiness.status, ...readiness.detail };
  });
  app.get("/metrics", async (request, reply) => {
    const { contentType, body } = await sources.metrics().render(request.headers.accept);
    void reply.header("content-type", contentType);
    return body;
  });
  return app;
}
