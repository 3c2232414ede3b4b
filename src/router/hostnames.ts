// Hostname rules of the Gateway API: exact names and `*.suffix` wildcards, matched
// case-insensitively, and the intersection of a listener's hostname with a route's.

/** Lower-cased, without a trailing dot: the form the router keys on. */
export function normalizeHostname(hostname: string): string {
  const lower = hostname.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

export function isWildcardHostname(hostname: string): boolean {
  return hostname.startsWith("*.");
}

/**
 * Whether `pattern` (exact or `*.suffix`) admits the concrete `host`. A wildcard covers one
 * or more labels in front of its suffix: `*.example.com` admits `a.example.com` and
 * `a.b.example.com`, never `example.com` itself.
 */
export function hostnameAdmits(pattern: string, host: string): boolean {
  if (!isWildcardHostname(pattern)) return pattern === host;
  const suffix = pattern.slice(1); // ".example.com"
  return host.length > suffix.length && host.endsWith(suffix);
}

/** Intersection of two hostname patterns, or undefined when they share no host. */
function intersectPair(listener: string, route: string): string | undefined {
  const listenerWild = isWildcardHostname(listener);
  const routeWild = isWildcardHostname(route);
  if (!listenerWild && !routeWild) return listener === route ? route : undefined;
  if (listenerWild && !routeWild) return hostnameAdmits(listener, route) ? route : undefined;
  if (!listenerWild && routeWild) return hostnameAdmits(route, listener) ? listener : undefined;
  // Both wildcards: the narrower one is the intersection, if one contains the other.
  const listenerSuffix = listener.slice(1);
  const routeSuffix = route.slice(1);
  if (routeSuffix.endsWith(listenerSuffix)) return route;
  if (listenerSuffix.endsWith(routeSuffix)) return listener;
  return undefined;
}

/**
 * The hostnames a route serves on a listener, per Gateway API: route hostnames that do not
 * intersect the listener's are ignored; a wildcard narrowed by the listener becomes the
 * listener's name. `"any"` means no restriction at all; an empty array means the route does
 * not attach to this listener.
 */
export function effectiveHostnames(
  listenerHostname: string | undefined,
  routeHostnames: readonly string[],
): readonly string[] | "any" {
  const listener = listenerHostname === undefined ? undefined : normalizeHostname(listenerHostname);
  if (routeHostnames.length === 0) return listener === undefined ? "any" : [listener];
  const out: string[] = [];
  for (const raw of routeHostnames) {
    const route = normalizeHostname(raw);
    const hit = listener === undefined ? route : intersectPair(listener, route);
    if (hit !== undefined && !out.includes(hit)) out.push(hit);
  }
  return out;
}
