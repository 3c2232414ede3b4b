// Gateway API filters, compiled once per plan into plain data the proxy applies with a few
// property writes and string concatenations per request. compileFilters is injected into
// the plan compiler, so plans carry ProxyFilters wherever the contract says CompiledFilters.
import { ConsistentHashPolicy } from "./consistent-hash.ts";
import type { FilterModel, HeaderModifierModel, PathModifierModel } from "../config/model.ts";
import type { CompiledBackend, CompiledFilters, CompiledMatch } from "../plan/types.ts";
import type { OutgoingHeaders } from "../telemetry/hooks.ts";
import { AuthorizationPolicy } from "./authorization.ts";
import { BasicAuthPolicy } from "./basic-auth.ts";
import { ApiKeyAuthPolicy } from "./api-key-auth.ts";
import { JwtAuthPolicy } from "./jwt-auth.ts";
import { ClientAcl } from "./client-acl.ts";
import { CsrfPolicy } from "./csrf.ts";
import { FaultInjectionPolicy } from "./fault-injection.ts";
import { ResponseCompressionPolicy } from "./response-compression.ts";
import { RequestDecompressionPolicy } from "./request-decompression.ts";
import { CorsPolicy } from "./cors.ts";
import { ExternalAuthPolicy } from "./external-auth-policy.ts";
import { LocalRateLimit } from "./local-rate-limit.ts";
import { GlobalRateLimitPolicy } from "./global-rate-limit.ts";
import { RateLimitBuckets } from "./rate-limit-buckets.ts";
import { MirrorTarget } from "./mirror.ts";
import { RegexRewrite } from "./regex-rewrite.ts";

/** One header modifier's operations, names lower-cased at compile time; `next` is applied after them. */
export class HeaderOps {
  readonly set: readonly (readonly [name: string, value: string])[];
  readonly add: readonly (readonly [name: string, value: string])[];
  readonly remove: readonly string[];
  readonly next: HeaderOps | undefined;

  constructor(set: readonly (readonly [string, string])[], add: readonly (readonly [string, string])[], remove: readonly string[], next?: HeaderOps) {
    this.set = set;
    this.add = add;
    this.remove = remove;
    this.next = next;
  }
}

export type PathRewrite =
  | { readonly kind: "full"; readonly path: string }
  /** `replacement` has no trailing slash, so `replacement + rest` is the new path ('' stands for '/'). */
  | { readonly kind: "prefix"; readonly replacement: string }
  | { readonly kind: "regex"; readonly rewrite: RegexRewrite };

export class Redirect {
  readonly scheme: "http" | "https" | undefined;
  readonly hostname: string | undefined;
  readonly port: number | undefined;
  readonly path: PathRewrite | undefined;
  readonly statusCode: number;

  constructor(
    scheme: "http" | "https" | undefined,
    hostname: string | undefined,
    port: number | undefined,
    path: PathRewrite | undefined,
    statusCode: number,
  ) {
    this.scheme = scheme;
    this.hostname = hostname;
    this.port = port;
    this.path = path;
    this.statusCode = statusCode;
  }
}

export class Rewrite {
  readonly hostname: string | undefined;
  readonly path: PathRewrite | undefined;

  constructor(hostname: string | undefined, path: PathRewrite | undefined) {
    this.hostname = hostname;
    this.path = path;
  }
}

export class DirectResponse {
  readonly status: number;
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, body: string, contentType: string) {
    this.status = status;
    this.body = Buffer.from(body);
    // A 204 carries no Content-Length at all (RFC 9110 §8.6); the config refuses a body on it.
    const headers: Record<string, string> = { "content-type": contentType };
    if (status !== 204) headers["content-length"] = String(this.body.length);
    this.headers = Object.freeze(headers);
  }
}

export class ProxyFilters implements CompiledFilters {
  readonly terminal: boolean;
  readonly requestHeaders: HeaderOps | undefined;
  readonly responseHeaders: HeaderOps | undefined;
  readonly redirect: Redirect | undefined;
  readonly rewrite: Rewrite | undefined;
  readonly direct: DirectResponse | undefined;
  /** RequestMirror filters in order; undefined when there are none. */
  readonly mirrors: readonly MirrorTarget[] | undefined;
  /** The rule's CORS filter (a backendRef cannot have one). */
  readonly cors: CorsPolicy | undefined;
  /** The rule's ExternalAuth filter (a backendRef cannot have one). */
  readonly externalAuth: ExternalAuthPolicy | undefined;
  /** The rule's local rate limit, from a TrafficPolicy. */
  readonly rateLimit: LocalRateLimit | undefined;
  /** The rule's TrafficPolicy `buffer`: the body is read whole, up to this many bytes, before the request goes on. */
  readonly bufferBytes: number | undefined;
  /** The rule's global rate limit, from a TrafficPolicy on its route or Gateway. */
  readonly globalRateLimit: GlobalRateLimitPolicy | undefined;
  /** The rule's rbac, from a TrafficPolicy on its route or Gateway. */
  readonly authorization: AuthorizationPolicy | undefined;
  /** The rule's acl, likewise. */
  readonly acl: ClientAcl | undefined;
  /** The rule's basicAuth, likewise. */
  readonly basicAuth: BasicAuthPolicy | undefined;
  /** The rule's apiKeyAuth, likewise. */
  readonly apiKeyAuth: ApiKeyAuthPolicy | undefined;
  /** The rule's jwtAuth, likewise. */
  readonly jwtAuth: JwtAuthPolicy | undefined;
  /** The rule's csrf, likewise. */
  readonly csrf: CsrfPolicy | undefined;
  /** The rule's fault injection, likewise. */
  readonly faultInjection: FaultInjectionPolicy | undefined;
  /** The rule's TrafficPolicy `autoHostRewrite`: each attempt sends the chosen endpoint's DNS name as Host. */
  readonly autoHostRewrite: boolean;
  /** The rule's TrafficPolicy `consistentHash`: the key its endpoint is picked by. */
  readonly consistentHash: ConsistentHashPolicy | undefined;
  /** The rule's TrafficPolicy `compression.responseCompression`. */
  readonly responseCompression: ResponseCompressionPolicy | undefined;
  /** The rule's TrafficPolicy `compression.requestDecompression`. */
  readonly requestDecompression: RequestDecompressionPolicy | undefined;

  constructor(
    requestHeaders: HeaderOps | undefined,
    responseHeaders: HeaderOps | undefined,
    redirect: Redirect | undefined,
    rewrite: Rewrite | undefined,
    direct: DirectResponse | undefined,
    mirrors: readonly MirrorTarget[] | undefined,
    cors: CorsPolicy | undefined,
    externalAuth: ExternalAuthPolicy | undefined,
    rateLimit: LocalRateLimit | undefined,
    authorization: AuthorizationPolicy | undefined,
    acl: ClientAcl | undefined,
    globalRateLimit: GlobalRateLimitPolicy | undefined,
    bufferBytes: number | undefined,
    basicAuth: BasicAuthPolicy | undefined,
    apiKeyAuth: ApiKeyAuthPolicy | undefined,
    jwtAuth: JwtAuthPolicy | undefined,
    csrf: CsrfPolicy | undefined,
    faultInjection: FaultInjectionPolicy | undefined,
    autoHostRewrite: boolean,
    consistentHash: ConsistentHashPolicy | undefined,
    responseCompression: ResponseCompressionPolicy | undefined,
    requestDecompression: RequestDecompressionPolicy | undefined,
  ) {
    this.requestHeaders = requestHeaders;
    this.responseHeaders = responseHeaders;
    this.redirect = redirect;
    this.rewrite = rewrite;
    this.direct = direct;
    this.mirrors = mirrors;
    this.cors = cors;
    this.externalAuth = externalAuth;
    this.rateLimit = rateLimit;
    this.authorization = authorization;
    this.acl = acl;
    this.globalRateLimit = globalRateLimit;
    this.bufferBytes = bufferBytes;
    this.basicAuth = basicAuth;
    this.apiKeyAuth = apiKeyAuth;
    this.jwtAuth = jwtAuth;
    this.csrf = csrf;
    this.faultInjection = faultInjection;
    this.autoHostRewrite = autoHostRewrite;
    this.consistentHash = consistentHash;
    this.responseCompression = responseCompression;
    this.requestDecompression = requestDecompression;
    this.terminal = redirect !== undefined || direct !== undefined;
  }
}

export const noFilters = new ProxyFilters(undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, false, undefined, undefined, undefined);

/**
 * Several header modifiers of one direction apply one after another, in order. `buckets` holds the plan's rate limit
 * buckets (a rule compiled for several Gateways shares one); without it each gets its own.
 */
export function compileFilters(filters: readonly FilterModel[], backends: ReadonlyMap<string, CompiledBackend>, buckets?: RateLimitBuckets): ProxyFilters {
  if (filters.length === 0) return noFilters;
  const mirrors: MirrorTarget[] = [];
  const requestMods: HeaderModifierModel[] = [];
  const responseMods: HeaderModifierModel[] = [];
  let redirect: Redirect | undefined;
  let rewrite: Rewrite | undefined;
  let direct: DirectResponse | undefined;
  let cors: CorsPolicy | undefined;
  let externalAuth: ExternalAuthPolicy | undefined;
  let rateLimit: LocalRateLimit | undefined;
  let authorization: AuthorizationPolicy | undefined;
  let acl: ClientAcl | undefined;
  let globalRateLimit: GlobalRateLimitPolicy | undefined;
  let bufferBytes: number | undefined;
  let basicAuth: BasicAuthPolicy | undefined;
  let apiKeyAuth: ApiKeyAuthPolicy | undefined;
  let jwtAuth: JwtAuthPolicy | undefined;
  let csrf: CsrfPolicy | undefined;
  let faultInjection: FaultInjectionPolicy | undefined;
  let autoHostRewrite = false;
  let consistentHash: ConsistentHashPolicy | undefined;
  let responseCompression: ResponseCompressionPolicy | undefined;
  let requestDecompression: RequestDecompressionPolicy | undefined;
  for (const filter of filters) {
    switch (filter.type) {
      case "RequestHeaderModifier":
        requestMods.push(filter.modifier);
        break;
      case "ResponseHeaderModifier":
        responseMods.push(filter.modifier);
        break;
      case "RequestRedirect":
        redirect = new Redirect(filter.scheme, filter.hostname, filter.port, compilePath(filter.path), filter.statusCode);
        break;
      case "URLRewrite":
        rewrite = new Rewrite(filter.hostname, compilePath(filter.path));
        break;
      case "DirectResponse":
        direct = new DirectResponse(filter.status, filter.body, filter.contentType);
        break;
      case "RequestMirror":
        if (filter.share > 0) mirrors.push(new MirrorTarget(backendNamed(backends, filter.backendKey, filter.type), filter.share));
        break;
      case "CORS":
        cors = new CorsPolicy(filter);
        break;
      case "ExternalAuth":
        externalAuth = new ExternalAuthPolicy(backendNamed(backends, filter.backendKey, filter.type), filter);
        break;
      case "LocalRateLimit":
        rateLimit = new LocalRateLimit(filter, buckets ?? new RateLimitBuckets());
        break;
      case "Authorization":
        authorization = built(authorizations, filter, () => new AuthorizationPolicy(filter));
        break;
      case "ClientAcl":
        acl = built(clientAcls, filter, () => new ClientAcl(filter));
        break;
      case "Csrf":
        csrf = built(csrfs, filter, () => new CsrfPolicy(filter));
        break;
      case "AutoHostRewrite":
        autoHostRewrite = true;
        break;
      case "ConsistentHash":
        consistentHash = new ConsistentHashPolicy(filter.policies, filter.hashPolicies);
        break;
      case "Compression":
        if (filter.response !== undefined) responseCompression = new ResponseCompressionPolicy(filter.policy, filter.response);
        if (filter.request !== undefined) requestDecompression = new RequestDecompressionPolicy(filter.policy, filter.request.encodings);
        break;
      case "FaultInjection":
        // One per model: maxActiveFaults counts across the rules one policy covers.
        faultInjection = built(faultInjections, filter, () => new FaultInjectionPolicy(filter));
        break;
      case "Buffer":
        bufferBytes = filter.maxBytes;
        break;
      case "BasicAuth":
        basicAuth = new BasicAuthPolicy(filter);
        break;
      case "ApiKeyAuth":
        apiKeyAuth = new ApiKeyAuthPolicy(filter);
        break;
      case "JwtAuth":
        jwtAuth = built(jwtAuthsOf(backends), filter, () => new JwtAuthPolicy(filter, backends));
        break;
      case "GlobalRateLimit":
        globalRateLimit = new GlobalRateLimitPolicy(backendNamed(backends, filter.backendKey, filter.type), filter);
        break;
    }
  }
  return new ProxyFilters(compileHeaderOps(requestMods), compileHeaderOps(responseMods), redirect, rewrite, direct, mirrors.length === 0 ? undefined : mirrors, cors, externalAuth, rateLimit, authorization, acl, globalRateLimit, bufferBytes, basicAuth, apiKeyAuth, jwtAuth, csrf, faultInjection, autoHostRewrite, consistentHash, responseCompression, requestDecompression);
}

// A Gateway's policy, or a route's, covers many rules with one model: its expressions and
// range tables are built once per model, not once per rule.
const authorizations = new WeakMap<object, AuthorizationPolicy>();
const clientAcls = new WeakMap<object, ClientAcl>();
const csrfs = new WeakMap<object, CsrfPolicy>();
const faultInjections = new WeakMap<object, FaultInjectionPolicy>();
// A jwtAuth also holds its providers' verified tokens and fetched keys: one per model and plan
// (the plan's backends), so the rules one policy covers share them.
const jwtAuths = new WeakMap<ReadonlyMap<string, CompiledBackend>, WeakMap<object, JwtAuthPolicy>>();

function jwtAuthsOf(backends: ReadonlyMap<string, CompiledBackend>): WeakMap<object, JwtAuthPolicy> {
  let byModel = jwtAuths.get(backends);
  if (byModel === undefined) jwtAuths.set(backends, (byModel = new WeakMap()));
  return byModel;
}

function built<T>(cache: WeakMap<object, T>, model: object, build: () => T): T {
  let compiled = cache.get(model);
  if (compiled === undefined) {
    compiled = build();
    cache.set(model, compiled);
  }
  return compiled;
}

/** The config stage lists every backend a filter names; a miss is a bug, not a config error. */
function backendNamed(backends: ReadonlyMap<string, CompiledBackend>, key: string, filterType: string): CompiledBackend {
  const backend = backends.get(key);
  if (backend === undefined) throw new Error(`${filterType} names backend ${key}, which the plan does not hold`);
  return backend;
}

/** The filters of a compiled plan; a plan compiled with foreign filters acts as if it had none. */
export function proxyFiltersOf(filters: CompiledFilters): ProxyFilters {
  return filters instanceof ProxyFilters ? filters : noFilters;
}

/**
 * Modifiers in the order they apply, each whole before the next: a TrafficPolicy's comes
 * before the HTTPRoute filter, so the route's `set` or `remove` of a name has the last word.
 */
function compileHeaderOps(mods: readonly HeaderModifierModel[]): HeaderOps | undefined {
  let ops: HeaderOps | undefined;
  for (let i = mods.length - 1; i >= 0; i--) {
    const mod = mods[i]!;
    if (mod.set.length + mod.add.length + mod.remove.length === 0) continue;
    ops = new HeaderOps(
      mod.set.map((h) => [h.name.toLowerCase(), h.value]),
      mod.add.map((h) => [h.name.toLowerCase(), h.value]),
      mod.remove.map((name) => name.toLowerCase()),
      ops,
    );
  }
  return ops;
}

function compilePath(path: PathModifierModel | undefined): PathRewrite | undefined {
  if (path === undefined) return undefined;
  if (path.type === "ReplaceFullPath") return { kind: "full", path: path.replaceFullPath };
  if (path.type === "RegexReplace") return { kind: "regex", rewrite: new RegexRewrite(path.pattern, path.substitution, path.source) };
  return { kind: "prefix", replacement: stripTrailingSlash(path.replacePrefixMatch) };
}

function stripTrailingSlash(value: string): string {
  let end = value.length;
  while (end > 0 && value.charCodeAt(end - 1) === 47) end--;
  return value.slice(0, end);
}

/**
 * Gateway API header modification: set replaces, add appends to an existing value with a
 * comma (set-cookie stays a list), remove deletes. Works on request and response headers.
 */
export function applyHeaderOps(first: HeaderOps, headers: OutgoingHeaders): void {
  for (let ops: HeaderOps | undefined = first; ops !== undefined; ops = ops.next) applyOneModifier(ops, headers);
}

function applyOneModifier(ops: HeaderOps, headers: OutgoingHeaders): void {
  const set = ops.set;
  for (let i = 0; i < set.length; i++) {
    const op = set[i]!;
    headers[op[0]] = op[1];
  }
  const add = ops.add;
  for (let i = 0; i < add.length; i++) {
    const op = add[i]!;
    const name = op[0];
    const existing = headers[name];
    if (existing === undefined) headers[name] = op[1];
    else if (typeof existing === "string") headers[name] = name === "set-cookie" ? [existing, op[1]] : `${existing},${op[1]}`;
    else existing.push(op[1]);
  }
  const remove = ops.remove;
  for (let i = 0; i < remove.length; i++) delete headers[remove[i]!];
}

/**
 * The path after a rewrite. ReplacePrefixMatch replaces the matched prefix element-wise, per
 * the Gateway API table: prefix `/foo` + replacement `/bar` turns `/foo/x` into `/bar/x` and
 * `/foo` into `/bar`; replacement `/` turns `/foo/x` into `/x` and `/foo` into `/`.
 * Only a PathPrefix match has a prefix to replace; other matches keep the path. A regex
 * rewrite replaces every match of its pattern, whatever the rule matched with.
 */
export function rewritePath(rewrite: PathRewrite, path: string, match: CompiledMatch): string {
  if (rewrite.kind === "full") return rewrite.path;
  if (rewrite.kind === "regex") return rootedPath(rewrite.rewrite.apply(path));
  if (match.pathType !== "PathPrefix") return path;
  const prefix = match.pathValue;
  let prefixLength = prefix.length;
  while (prefixLength > 0 && prefix.charCodeAt(prefixLength - 1) === 47) prefixLength--;
  if (prefixLength > path.length) return path;
  return rootedPath(rewrite.replacement + path.slice(prefixLength));
}

function rootedPath(result: string): string {
  return result === "" ? "/" : result.charCodeAt(0) === 47 ? result : `/${result}`;
}

/**
 * The Location of a RequestRedirect. Unset parts come from the request; an unset port is the
 * scheme's well-known port when the filter sets a scheme, else the listener port; 80 for
 * http and 443 for https are left out, as Gateway API requires.
 */
export function redirectLocation(
  redirect: Redirect,
  requestScheme: "http" | "https",
  requestHost: string,
  listenerPort: number,
  path: string,
  query: string,
  match: CompiledMatch,
): string {
  const scheme = redirect.scheme ?? requestScheme;
  const hostname = redirect.hostname ?? requestHost;
  const port = redirect.port ?? (redirect.scheme !== undefined ? (scheme === "https" ? 443 : 80) : listenerPort);
  const defaultPort = scheme === "https" ? 443 : 80;
  const authority = port === defaultPort ? formatHost(hostname) : `${formatHost(hostname)}:${port}`;
  const newPath = redirect.path === undefined ? path : rewritePath(redirect.path, path, match);
  return query === "" ? `${scheme}://${authority}${newPath}` : `${scheme}://${authority}${newPath}?${query}`;
}

function formatHost(hostname: string): string {
  return hostname.includes(":") && hostname.charCodeAt(0) !== 91 ? `[${hostname}]` : hostname;
}
