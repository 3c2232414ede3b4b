// The ops and admin listeners of every run mode: bound together, ops first so /healthz
// answers as early as possible, and closed together when either cannot bind.
import type { FastifyInstance } from "fastify";
import { listenApp } from "../admin/http-app.ts";
import type { Logger } from "./log.ts";
import type { HostPort, ServerSettings } from "./settings.ts";

export interface OpsAndAdmin {
  readonly ops: HostPort;
  readonly admin: HostPort;
}

/** The bound addresses, or undefined (logged, both apps closed) when a port cannot be bound. */
export async function listenOpsAndAdmin(opsApp: FastifyInstance, adminApp: FastifyInstance, settings: Pick<ServerSettings, "opsAddr" | "adminAddr">, log: Logger): Promise<OpsAndAdmin | undefined> {
  try {
    const ops = await listenApp(opsApp, settings.opsAddr);
    log.info("listening", { listener: "ops", host: ops.host, port: ops.port });
    const admin = await listenApp(adminApp, settings.adminAddr);
    log.info("listening", { listener: "admin", host: admin.host, port: admin.port });
    return { ops, admin };
  } catch (error) {
    log.error("cannot bind the ops/admin listeners", { error });
    await closeApps([opsApp, adminApp]);
    return undefined;
  }
}

/** Closes every app, ignoring the errors of ones that never listened. */
export async function closeApps(apps: readonly FastifyInstance[]): Promise<void> {
  await Promise.all(apps.map((app) => app.close().catch(() => undefined)));
}
