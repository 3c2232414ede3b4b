// The text of an HTTP/1.1 response head for the paths that write to a raw socket (upgrades,
// client errors), where node's ServerResponse is not in play.
import { http } from "./node-http.ts";
import type { OutgoingHeaders } from "../telemetry/hooks.ts";

export function statusLine(status: number, reason: string): string {
  return `HTTP/1.1 ${status} ${reason}\r\n`;
}

/** One line per value: a list (Set-Cookie) is never folded into one. */
export function headerLines(headers: Readonly<OutgoingHeaders>): string {
  let out = "";
  for (const name in headers) {
    const value = headers[name]!;
    if (typeof value === "string") {
      out += `${name}: ${value}\r\n`;
      continue;
    }
    for (const v of value) out += `${name}: ${v}\r\n`;
  }
  return out;
}

export function reasonPhrase(status: number): string {
  return http.STATUS_CODES[status] ?? "Unknown";
}
