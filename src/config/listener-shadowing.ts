// Listener isolation (src/router/listener-router.ts) gives a host to the most specific
// listener on its port. A route hostname whose every host a more specific listener admits is
// therefore never answered through the less specific listener the route attached to: the
// route looks attached, `/routes` lists it, and it serves nothing there. The config says so.
import { effectiveHostnames, hostnameAdmits, isWildcardHostname, normalizeHostname } from "../router/hostnames.ts";

export interface ShadowedHostname {
  /** The hostname the route serves through its listener (after intersection). */
  readonly hostname: string;
  /** The more specific listener hostname that owns all of its hosts. */
  readonly owner: string;
}

/**
 * The hostnames a route serves through a listener with `listenerHostname` that another
 * listener on the same port (`portHostnames`, every listener's hostname there) takes whole.
 */
export function shadowedHostnames(listenerHostname: string | undefined, routeHostnames: readonly string[], portHostnames: readonly (string | undefined)[]): ShadowedHostname[] {
  const served = effectiveHostnames(listenerHostname, routeHostnames);
  if (served === "any") return [];
  const own = listenerHostname === undefined ? undefined : normalizeHostname(listenerHostname);
  const others = portHostnames.flatMap((h) => (h === undefined ? [] : [normalizeHostname(h)])).filter((h) => h !== own && moreSpecific(h, own));
  const out: ShadowedHostname[] = [];
  for (const hostname of served) {
    const owner = others.find((other) => covers(other, hostname));
    if (owner !== undefined) out.push({ hostname, owner });
  }
  return out;
}

function moreSpecific(candidate: string, than: string | undefined): boolean {
  if (than === undefined) return true;
  if (!isWildcardHostname(than)) return false;
  return !isWildcardHostname(candidate) || candidate.length > than.length;
}

/** Whether every host `hostname` stands for is admitted by `listener`. */
function covers(listener: string, hostname: string): boolean {
  if (!isWildcardHostname(hostname)) return hostnameAdmits(listener, hostname);
  return isWildcardHostname(listener) && hostname.slice(1).endsWith(listener.slice(1));
}
