// A TrafficPolicy targetRef to a Gateway with a sectionName applies to that listener alone
// (Gateway API policy attachment, as kgateway reads it). Such policies are kept beside the
// Gateway's own, under a scope key of their own; for a listener, each section is the
// listener's policy's if it has one, else the Gateway's.

/** The key a listener's policies are kept under, beside its Gateway's key (`namespace/name`). */
export function listenerScope(gatewayKey: string, listenerName: string): string {
  return `${gatewayKey}${SEPARATOR}${listenerName}`;
}

const SEPARATOR = " listener ";

/** The gateway key and listener name of a `listenerScope` key; undefined for a gateway key. */
export function scopeListener(key: string): { gatewayKey: string; listener: string } | undefined {
  const at = key.indexOf(SEPARATOR);
  return at < 0 ? undefined : { gatewayKey: key.slice(0, at), listener: key.slice(at + SEPARATOR.length) };
}

/** Whether `key` is a `listenerScope` key rather than a gateway key. */
export function isListenerScope(key: string): boolean {
  // Kubernetes names hold no spaces.
  return key.includes(SEPARATOR);
}

/**
 * The model of a section that applies through a listener: the listener's own, else its
 * Gateway's. A null listener model is a `disable` there: none applies.
 */
export function throughListener<M>(byScope: ReadonlyMap<string, M | null>, gatewayKey: string, listenerName: string): M | undefined {
  const own = byScope.get(listenerScope(gatewayKey, listenerName));
  if (own === null) return undefined;
  return own ?? byScope.get(gatewayKey) ?? undefined;
}
