// Messages between the cluster primary and its workers. Every message carries
// `tollgate: 1` so node's own cluster messages are never mistaken for ours.
import type { ListenerBinding, ReloadTrigger } from "./gateway.ts";

export type ToWorker =
  | { readonly tollgate: 1; readonly t: "reload"; readonly trigger: ReloadTrigger }
  | { readonly tollgate: 1; readonly t: "request"; readonly id: number; readonly kind: WorkerQuery; readonly accept?: string | undefined }
  | { readonly tollgate: 1; readonly t: "port"; readonly id: number; readonly port: number | undefined; readonly error?: string };

export type WorkerQuery = "metrics" | "config" | "routes";

export type ToPrimary =
  | { readonly tollgate: 1; readonly t: "ready"; readonly listeners: readonly ListenerBinding[]; readonly generation: number }
  | { readonly tollgate: 1; readonly t: "listeners"; readonly listeners: readonly ListenerBinding[] }
  | { readonly tollgate: 1; readonly t: "response"; readonly id: number; readonly value: unknown; readonly error?: string }
  | { readonly tollgate: 1; readonly t: "port?"; readonly id: number; readonly configPort: number };

export function isOurs<T extends { tollgate: 1 }>(message: unknown): message is T {
  return typeof message === "object" && message !== null && (message as { tollgate?: unknown }).tollgate === 1;
}

/** Request/response over a message channel, with a timeout so a wedged peer cannot hang a scrape. */
export class PendingRequests {
  #nextId = 1;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void; timer: NodeJS.Timeout }>();

  open(timeoutMs: number): { id: number; result: Promise<unknown> } {
    const id = this.#nextId++;
    const result = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
    });
    return { id, result };
  }

  settle(id: number, value: unknown, error: string | undefined): void {
    const entry = this.#pending.get(id);
    if (entry === undefined) return;
    this.#pending.delete(id);
    clearTimeout(entry.timer);
    if (error === undefined) entry.resolve(value);
    else entry.reject(new Error(error));
  }

  rejectAll(reason: string): void {
    for (const [id, entry] of this.#pending) {
      clearTimeout(entry.timer);
      entry.reject(new Error(reason));
      this.#pending.delete(id);
    }
  }
}
