// Reads the gateway's own count of telemetry it produced but never delivered
// (`tollgate.telemetry.dropped{signal,reason}`) from the Prometheus endpoint on its ops
// port, so the report can say how much of "full telemetry" actually left the process.
import { request } from "node:http";

export type DropCounts = Record<string, number>;

export function fetchDropped(opsPort: number): Promise<DropCounts | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port: opsPort, path: "/metrics", agent: false, timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve(res.statusCode === 200 ? parseDropped(body) : undefined));
      res.on("error", () => resolve(undefined));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
    req.end();
  });
}

/** `signal/reason` → count, from Prometheus text; an exposition without the series gives {}. */
export function parseDropped(exposition: string): DropCounts {
  const counts: DropCounts = {};
  for (const line of exposition.split("\n")) {
    const match = /^tollgate_telemetry_dropped(?:_items)?(?:_total)?\{([^}]*)\}\s+(\S+)/.exec(line);
    if (match === null) continue;
    const labels = match[1] ?? "";
    const signal = /(?:^|,)signal="([^"]*)"/.exec(labels)?.[1] ?? "?";
    const reason = /(?:^|,)reason="([^"]*)"/.exec(labels)?.[1] ?? "?";
    const key = `${signal}/${reason}`;
    counts[key] = (counts[key] ?? 0) + Number(match[2]);
  }
  return counts;
}
