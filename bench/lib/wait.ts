// Polling helpers for processes that cannot announce readiness themselves.
import { request } from "node:http";

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One GET with a fresh connection; resolves the status, or 0 on any transport error. */
export function probe(url: string, timeoutMs = 1000): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", () => resolve(0));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(0));
    req.end();
  });
}

/** Polls until the URL answers 2xx; throws with the last status seen, or if `gone()` says the process died. */
export async function waitFor2xx(url: string, timeoutMs: number, gone: () => boolean): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < until) {
    if (gone()) throw new Error(`process exited while waiting for ${url}`);
    last = await probe(url);
    if (last >= 200 && last < 300) return;
    await sleep(100);
  }
  throw new Error(`${url} did not answer 2xx within ${timeoutMs} ms (last status ${last === 0 ? "connection failed" : last})`);
}
