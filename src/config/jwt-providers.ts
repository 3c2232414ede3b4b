// A GatewayExtension's `jwt` (kgateway JWT, Envoy's jwt_authn providers): the providers a
// TrafficPolicy `jwtAuth` verifies tokens with, any one of which may let a request in, and
// whether a request without a token passes (validationMode AllowMissing). Each provider names
// where tokens are (default: `Authorization: Bearer`, then the `access_token` query
// parameter, as Envoy), the issuer and audiences a token must carry, the keys (a local JWKS,
// inline or in a ConfigMap's `jwks`, or a remote one fetched through a backendRef), the claims
// copied to headers, and whether the token goes on upstream.
import type { ConfigMapStore } from "./config-maps.ts";
import { parseDuration } from "./duration.ts";
import type { BackendRefSpec, BackendResolver } from "./resolve-backends.ts";
import { isGatewayHeader, isHeaderName } from "./header-names.ts";
import { VerificationKeys, readJwks } from "./jwks.ts";
import { redactUrlCredentials } from "./url-credentials.ts";
import type { JwksSourceModel, JwtProviderModel, JwtTokenSourceModel } from "./model.ts";
import { type Reporter, type Resource, type Segments, key } from "./resources.ts";

/** A GatewayExtension of type JWT, as a jwtAuth policy uses it. */
export interface JwtProviderSet {
  /** `namespace/name` of the GatewayExtension. */
  readonly name: string;
  readonly allowMissing: boolean;
  readonly providers: readonly JwtProviderModel[];
}

/** Envoy's token locations when a provider names none. */
export const DEFAULT_TOKEN_SOURCES: readonly JwtTokenSourceModel[] = [{ header: "authorization", prefix: "Bearer " }, { query: "access_token" }];
const JWKS_CONFIG_MAP_KEY = "jwks";
/** kgateway's default for remote.cacheDuration. */
const DEFAULT_CACHE_DURATION_MS = 5 * 60_000;
/** kgateway's limit on a remote JWKS fetch (remoteJWKSTimeoutSecs). */
const REMOTE_JWKS_TIMEOUT_MS = 5_000;
const CONFIG_MAP_HINT = `put the JWKS under data.${JWKS_CONFIG_MAP_KEY}: kubectl create configmap NAME --from-file=${JWKS_CONFIG_MAP_KEY}=jwks.json --dry-run=client -o yaml`;

/** Where providers find what they need: ConfigMaps for local keys, backends for remote ones. */
export interface JwtKeySources {
  readonly configMaps: ConfigMapStore;
  readonly backends: BackendResolver;
}

export function readJwtProviderSet(e: Resource, reporter: Reporter, cfg: Record<string, unknown>, sources: JwtKeySources): JwtProviderSet | undefined {
  const at = ["spec", "jwt"];
  const listed = (cfg["providers"] ?? []) as Record<string, unknown>[];
  if (listed.length === 0) {
    reporter.error(e, at, "jwt names no providers, so no token could be verified", "add providers: [{name: ..., issuer: ..., jwks: {local: {inline: ...}}}]");
    return undefined;
  }
  const seen = new Map<string, number>();
  const providers: JwtProviderModel[] = [];
  let usable = true;
  for (const [index, provider] of listed.entries()) {
    const name = String(provider["name"]);
    const first = seen.get(name);
    if (first !== undefined) {
      reporter.error(e, [...at, "providers", index, "name"], `provider ${JSON.stringify(name)} is also providers[${first}]`, "give each provider a name of its own");
      usable = false;
      continue;
    }
    seen.set(name, index);
    const read = readProvider(e, reporter, provider, [...at, "providers", index], sources);
    if (read === undefined) usable = false;
    else providers.push(read);
  }
  if (!usable) return undefined;
  return { name: key(e), allowMissing: cfg["validationMode"] === "AllowMissing", providers };
}

function readProvider(e: Resource, reporter: Reporter, cfg: Record<string, unknown>, at: Segments, keySources: JwtKeySources): JwtProviderModel | undefined {
  const sources = tokenSources(e, reporter, cfg["tokenSource"] as Record<string, unknown> | undefined, [...at, "tokenSource"]);
  const claims = claimHeaders(e, reporter, (cfg["claimsToHeaders"] ?? []) as Record<string, string>[], [...at, "claimsToHeaders"]);
  const jwks = providerKeys(e, reporter, cfg["jwks"] as Record<string, unknown>, [...at, "jwks"], keySources);
  if (sources === undefined || claims === undefined || jwks === undefined) return undefined;
  const issuer = cfg["issuer"] as string | undefined;
  return {
    name: String(cfg["name"]),
    issuer: issuer === undefined || issuer === "" ? undefined : issuer,
    audiences: (cfg["audiences"] ?? []) as string[],
    sources,
    claimsToHeaders: claims,
    forwardToken: cfg["forwardToken"] === true,
    jwks,
  };
}

function tokenSources(e: Resource, reporter: Reporter, cfg: Record<string, unknown> | undefined, at: Segments): readonly JwtTokenSourceModel[] | undefined {
  if (cfg === undefined) return DEFAULT_TOKEN_SOURCES;
  const header = cfg["header"] as { header: string; prefix?: string } | undefined;
  const query = cfg["queryParameter"] as string | undefined;
  if ((header === undefined) === (query === undefined)) {
    reporter.error(e, at, header === undefined ? "tokenSource needs header or queryParameter" : "header and queryParameter are both set; tokenSource holds exactly one", "write header: {header: Authorization, prefix: \"Bearer \"}, or queryParameter: token; leave tokenSource out for Envoy's defaults (Authorization: Bearer, then access_token)");
    return undefined;
  }
  if (query !== undefined) {
    // A name a query splits on could never be found.
    if (/[&=#\s]/.test(query)) {
      reporter.error(e, [...at, "queryParameter"], `${JSON.stringify(query)} holds a character a query splits on, so no request could carry it`, "name the parameter with letters, digits, - and _");
      return undefined;
    }
    return [{ query }];
  }
  const name = header!.header;
  if (!isHeaderName(name)) {
    reporter.error(e, [...at, "header", "header"], `${JSON.stringify(name)} is not a header name`, "use letters, digits and - (Authorization, x-jwt)");
    return undefined;
  }
  if (isGatewayHeader(name)) {
    reporter.error(e, [...at, "header", "header"], `${name} is a header the gateway frames or sets itself, not one a client sends a token in`, "use Authorization or a header of its own (x-jwt)");
    return undefined;
  }
  return [{ header: name.toLowerCase(), prefix: header!.prefix ?? "" }];
}

function claimHeaders(e: Resource, reporter: Reporter, listed: readonly Record<string, string>[], at: Segments): JwtProviderModel["claimsToHeaders"] | undefined {
  let usable = true;
  const out = listed.map((entry, i) => {
    const header = entry["header"]!;
    if (!isHeaderName(header)) {
      reporter.error(e, [...at, i, "header"], `${JSON.stringify(header)} is not a header name`, "use letters, digits and - (x-jwt-sub)");
      usable = false;
    } else if (isGatewayHeader(header)) {
      reporter.error(e, [...at, i, "header"], `${header} is a header the gateway frames or sets itself; a claim there would break or forge the request`, "use a header of its own (x-jwt-sub)");
      usable = false;
    }
    return { claim: entry["name"]!, header: header.toLowerCase() };
  });
  return usable ? out : undefined;
}

function providerKeys(e: Resource, reporter: Reporter, cfg: Record<string, unknown>, at: Segments, { configMaps, backends }: JwtKeySources): JwksSourceModel | undefined {
  const local = cfg["local"] as Record<string, unknown> | undefined;
  const remote = cfg["remote"] as Record<string, unknown> | undefined;
  if ((local === undefined) === (remote === undefined)) {
    reporter.error(e, at, local === undefined ? "jwks needs local or remote" : "local and remote are both set; jwks holds exactly one", "write local: {inline: <JWKS>}, local: {configMapRef: {name: ...}}, or remote: {url: ..., backendRef: {name: ...}}");
    return undefined;
  }
  if (local === undefined) return remoteJwks(e, reporter, remote!, [...at, "remote"], backends);
  const inline = local["inline"] as string | undefined;
  const ref = local["configMapRef"] as { name: string } | undefined;
  if ((inline === undefined) === (ref === undefined)) {
    reporter.error(e, [...at, "local"], inline === undefined ? "local needs inline or configMapRef" : "inline and configMapRef are both set; local holds exactly one", "write inline: <JWKS, JWK or PEM public key>, or configMapRef: {name: ...}");
    return undefined;
  }
  // kgateway reads the ConfigMap from the extension's own namespace.
  const found = inline !== undefined ? { text: inline, source: e, at: [...at, "local", "inline"] } : withAt(configMaps.text(e, e.namespace, ref!.name, JWKS_CONFIG_MAP_KEY, [...at, "local", "configMapRef", "name"], CONFIG_MAP_HINT), ["data", JWKS_CONFIG_MAP_KEY]);
  if (found === undefined) return undefined;
  const read = readJwks(found.text);
  if (!read.ok) {
    reporter.error(found.source, found.at, read.message, read.hint);
    return undefined;
  }
  for (const warning of read.warnings) reporter.warn(found.source, found.at, warning, "publish only the public signing keys");
  return { type: "Local", keys: new VerificationKeys(read.keys) };
}

function remoteJwks(e: Resource, reporter: Reporter, cfg: Record<string, unknown>, at: Segments, backends: BackendResolver): JwksSourceModel | undefined {
  const text = String(cfg["url"]);
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  let usable = true;
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
    reporter.error(e, [...at, "url"], `${JSON.stringify(redactUrlCredentials(text))} is not an http or https URL`, "write the full URL the issuer publishes its keys at: https://idp.example.com/.well-known/jwks.json");
    usable = false;
  } else if (url.username !== "" || url.password !== "") {
    reporter.error(e, [...at, "url"], "the URL holds a user name or password, which the fetch does not send", "give the JWKS URL without user:password@");
    usable = false;
  }
  const duration = cfg["cacheDuration"] === undefined ? DEFAULT_CACHE_DURATION_MS : parseDuration(String(cfg["cacheDuration"]));
  if (duration === undefined || duration < 1) {
    reporter.error(e, [...at, "cacheDuration"], "cacheDuration must be at least 1ms", "write a duration such as 5m (kgateway's default)");
    usable = false;
  }
  const backend = backends.resolve(e, "gateway.kgateway.dev", cfg["backendRef"] as BackendRefSpec, [...at, "backendRef"]);
  if (!usable || backend === undefined) return undefined;
  // The backend decides how the keys travel, as Envoy's cluster does; an https URL the user
  // wrote over a plain backend would fetch them in the clear.
  if (url!.protocol === "https:" && backend.tls === undefined) {
    reporter.warn(e, [...at, "url"], `the URL is https, but backend ${backend.key} has no BackendTLSPolicy: the keys are fetched over plain HTTP`, "attach a BackendTLSPolicy to the backend, or write an http URL if plain HTTP is meant");
  }
  return { type: "Remote", url: url!.href, backendKey: backend.key, cacheDurationMs: duration!, timeoutMs: REMOTE_JWKS_TIMEOUT_MS };
}

const withAt = <T extends object>(found: T | undefined, at: Segments): (T & { at: Segments }) | undefined => (found === undefined ? undefined : { ...found, at });

/** The header and query parameter names every JWT provider of `extensions` reads tokens from, for redaction. */
export function jwtCredentialNames(extensions: readonly Resource[]): { headers: string[]; queryParams: string[] } {
  const headers: string[] = [];
  const queryParams: string[] = [];
  for (const e of extensions) {
    const providers = (e.spec["jwt"] as Record<string, unknown> | undefined)?.["providers"];
    if (!Array.isArray(providers)) continue;
    for (const provider of providers as Record<string, unknown>[]) {
      const source = provider["tokenSource"] as Record<string, unknown> | undefined;
      const header = (source?.["header"] as Record<string, unknown> | undefined)?.["header"];
      if (typeof header === "string") headers.push(header);
      if (typeof source?.["queryParameter"] === "string") queryParams.push(source["queryParameter"]);
    }
  }
  return { headers, queryParams };
}
