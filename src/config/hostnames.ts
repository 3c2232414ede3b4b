// Gateway API hostnames: lower-case DNS names, optionally with one leading `*.` label.
import { isIP } from "node:net";

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** undefined when valid, else why not. */
export function hostnameProblem(h: string): string | undefined {
  if (isIP(h) !== 0) return "an IP address is not a hostname";
  if (h.includes(":")) return "a hostname has no port";
  if (h !== h.toLowerCase()) return "hostnames are lower-case";
  const body = h.startsWith("*.") ? h.slice(2) : h;
  if (body.length === 0 || body.length > 253) return "not a valid DNS name";
  for (const label of body.split(".")) if (!LABEL.test(label)) return label.includes("*") ? "a wildcard is allowed only as the whole first label (`*.example.com`)" : "not a valid DNS name";
  return undefined;
}

/** Whether two hostname patterns (exact or `*.suffix`) can match a common host. */
export function hostnamesIntersect(a: string, b: string): boolean {
  if (a === b) return true;
  const wa = a.startsWith("*.");
  const wb = b.startsWith("*.");
  if (wa && !wb) return b.endsWith(a.slice(1));
  if (wb && !wa) return a.endsWith(b.slice(1));
  if (wa && wb) return a.endsWith(b.slice(1)) || b.endsWith(a.slice(1));
  return false;
}
