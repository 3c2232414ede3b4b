// Keys a `Metadata` value source (TelemetryPolicy customAttributes, log fields, metric
// attributes; Tollgate's kgateway `metadata` attribute) can read. Telemetry resolves them
// per request from the matched rule; docs/configuration.md lists them.
export const METADATA_KEYS: Readonly<Record<string, string>> = {
  gateway: "`namespace/name` of the Gateway that accepted the request",
  "gateway.name": "name of the Gateway",
  "gateway.namespace": "namespace of the Gateway",
  listener: "name of the listener",
  route: "`namespace/name` of the matched HTTPRoute",
  "route.name": "name of the matched HTTPRoute",
  "route.namespace": "namespace of the matched HTTPRoute",
  rule: "the matched rule's `name`, or `rule-<index>` when unnamed",
  backend: "`namespace/name` (+`:port` for Services) of the chosen backend",
};

/** The attribute names Tollgate itself emits, accepted as the keys whose values they carry. */
export const METADATA_KEY_ALIASES: Readonly<Record<string, string>> = {
  "tollgate.gateway.name": "gateway",
  "tollgate.listener.name": "listener",
  "tollgate.route.name": "route",
  "tollgate.rule.name": "rule",
  "tollgate.backend.name": "backend",
};

/** The key of METADATA_KEYS that `key` names (itself, or what its alias stands for). */
export function canonicalMetadataKey(key: string): string {
  return Object.hasOwn(METADATA_KEY_ALIASES, key) ? METADATA_KEY_ALIASES[key]! : key;
}

export function isKnownMetadataKey(key: string): boolean {
  return Object.hasOwn(METADATA_KEYS, canonicalMetadataKey(key));
}
