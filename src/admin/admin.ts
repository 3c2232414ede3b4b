// The admin listener (default 127.0.0.1:15000): what the gateway is running, for humans
// and tooling. Local by default because the config, even redacted, describes the network.
import type { FastifyInstance } from "fastify";
import { createJsonApp } from "./http-app.ts";

export interface AdminSources {
  /** The effective config with secrets redacted; undefined before the first plan. */
  config(): Promise<unknown>;
  /** The compiled route table of the plan serving now; undefined before the first plan. */
  routes(): Promise<unknown>;
}

export function createAdminApp(sources: AdminSources): FastifyInstance {
  const app = createJsonApp("admin", ["/config", "/routes"]);
  const serve = (read: () => Promise<unknown>) => async (_request: unknown, reply: { code(n: number): unknown }) => {
    const value = await read();
    if (value === undefined) {
      reply.code(503);
      return { error: "not_ready", message: "no config plan is loaded yet" };
    }
    return value;
  };
  app.get("/config", serve(() => sources.config()));
  app.get("/routes", serve(() => sources.routes()));
  return app;
}
