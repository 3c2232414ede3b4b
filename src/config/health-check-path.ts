// A health check path the gateway could never match: requests are matched on their target as
// the router reads it (normalised as Envoy's normalize_path and merge_slashes do), and no
// request target carries a fragment. kgateway's CRD accepts such paths; the load warns.
import { normalizePath } from "../router/path-normalize.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";

export function warnUnmatchableHealthCheckPath(p: Resource, reporter: Reporter, target: string | undefined, at: Segments): void {
  if (target === undefined) return;
  if (target.includes("#")) {
    reporter.warn(p, at, `no request target carries a fragment ('#'): health check path ${target} matches no request`, "remove the '#' and what follows it");
    return;
  }
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  const normal = normalizePath(path);
  if (normal === undefined) {
    reporter.warn(p, at, `health check path ${target} holds a '%' that starts no escape (or an escaped NUL): a request for it is refused, so it matches no request`, "write the path as a client sends it");
  } else if (normal !== path) {
    reporter.warn(p, at, `requests are matched on their normalised path, and ${path} reads as ${normal}: health check path ${target} matches no request`, `write ${normal}${q < 0 ? "" : target.slice(q)}`);
  }
}
