// A cluster worker: serves the gateway ports (shared with its siblings through the
// primary), takes reload and drain commands from the primary, and answers the primary's
// /metrics, /config and /routes queries. It has no ops/admin listener of its own.
import { EXIT_STARTUP_FAILED, type RunContext } from "./context.ts";
import { StartupError } from "./gateway.ts";
import { isOurs, PendingRequests, type ToPrimary, type ToWorker } from "./ipc.ts";
import { createServingProcess } from "./serving.ts";
import { DrainSignals, ReloadSignal } from "./signals.ts";

const PORT_REQUEST_TIMEOUT_MS = 10_000;

export async function runWorker(context: RunContext): Promise<number> {
  const { log } = context;
  const signals = new DrainSignals(log);
  const reloads = new ReloadSignal(log);
  const send = (message: ToPrimary): void => {
    if (process.connected) process.send?.(message);
  };
  const portRequests = new PendingRequests();

  // Ephemeral ports must be the same in every worker, so the primary hands them out.
  const resolvePort = async (configPort: number): Promise<number> => {
    const { id, result } = portRequests.open(PORT_REQUEST_TIMEOUT_MS);
    send({ tollgate: 1, t: "port?", id, configPort });
    return (await result) as number;
  };
  const serving = await createServingProcess(context, resolvePort, (listeners) => send({ tollgate: 1, t: "listeners", listeners }));
  const { gateway } = serving;

  process.on("message", (message: unknown) => {
    if (!isOurs<ToWorker>(message)) return;
    switch (message.t) {
      case "port":
        portRequests.settle(message.id, message.port, message.error);
        return;
      case "reload":
        void gateway.reload(message.trigger);
        return;
      case "request":
        void answer(message.id, message.kind, message.accept);
        return;
    }
  });
  const answer = async (id: number, kind: "metrics" | "config" | "routes", accept: string | undefined): Promise<void> => {
    try {
      const value = kind === "metrics" ? await serving.metrics.render(accept) : kind === "config" ? gateway.config() : gateway.routes();
      send({ tollgate: 1, t: "response", id, value });
    } catch (error) {
      send({ tollgate: 1, t: "response", id, value: undefined, error: error instanceof Error ? error.message : String(error) });
    }
  };

  try {
    await gateway.start();
  } catch (error) {
    if (!(error instanceof StartupError)) log.error("startup failed", { error });
    return EXIT_STARTUP_FAILED;
  }
  send({ tollgate: 1, t: "ready", listeners: gateway.bindings(), generation: gateway.generation });
  log.info("worker ready", { listeners: gateway.bindings(), generation: gateway.generation });

  // The primary watches the file and forwards reloads; a worker signalled directly still reloads.
  reloads.handle(() => void gateway.reload("SIGHUP"));
  return await new Promise<number>((resolve) => {
    signals.handle(async (signal) => {
      log.info("drain started", { signal });
      reloads.stop();
      await serving.drain();
      log.info("drained; exiting", { exitCode: 0 });
      resolve(0);
    });
  });
}
