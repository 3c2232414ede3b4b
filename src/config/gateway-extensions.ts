// kgateway's GatewayExtension: a service the gateway calls on behalf of the policies that name
// it. Tollgate calls rate limit services (`rateLimit`, Envoy's rls gRPC protocol); the other
// kinds of extension (extAuth, extProc, jwt, oauth2) are read as written but not implemented,
// so a TrafficPolicy naming one fails the load rather than leave its routes unguarded.
import { parseDuration } from "./duration.ts";
import type { BackendRefSpec, BackendResolver } from "./resolve-backends.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";
import { key } from "./resources.ts";

/** kgateway's default for `rateLimit.timeout`. */
const DEFAULT_RATE_LIMIT_TIMEOUT_MS = 100;

const PROVIDER_FIELDS = ["extAuth", "extProc", "rateLimit", "jwt", "oauth2"] as const;
const TYPE_OF_FIELD: Readonly<Record<(typeof PROVIDER_FIELDS)[number], string>> = { extAuth: "ExtAuth", extProc: "ExtProc", rateLimit: "RateLimit", jwt: "JWT", oauth2: "OAuth2" };

/** A GatewayExtension of type RateLimit, as the gateway calls it. */
export interface RateLimitProvider {
  /** `namespace/name` of the GatewayExtension. */
  readonly name: string;
  readonly backendKey: string;
  readonly domain: string;
  readonly failOpen: boolean;
  readonly timeoutMs: number;
  readonly rateLimitHeaders: boolean;
}

type Provider = { readonly field: (typeof PROVIDER_FIELDS)[number]; readonly rateLimit: RateLimitProvider | undefined };

export class GatewayExtensions {
  readonly #byKey = new Map<string, Provider>();
  readonly #reporter: Reporter;

  /** Reads every GatewayExtension once, so a broken one is reported whether or not a policy names it. */
  constructor(extensions: readonly Resource[], backends: BackendResolver, reporter: Reporter) {
    this.#reporter = reporter;
    for (const e of extensions) {
      const provider = readExtension(e, backends, reporter);
      if (provider !== undefined) this.#byKey.set(key(e), provider);
    }
  }

  /**
   * The rate limit service `ref` names, from `from` at `at`; undefined (reported, unless the
   * extension itself already failed) when there is none to call.
   */
  rateLimitProvider(from: Resource, ref: { readonly name: string; readonly namespace?: string }, at: Segments): RateLimitProvider | undefined {
    const namespace = ref.namespace ?? from.namespace;
    const wanted = `${namespace}/${ref.name}`;
    if (this.#reporter.isBroken("GatewayExtension", namespace, ref.name)) return undefined;
    const provider = this.#byKey.get(wanted);
    if (provider === undefined) {
      this.#reporter.error(from, at, `GatewayExtension ${wanted} is not in the file`, "add a gateway.kgateway.dev/v1alpha1 GatewayExtension with spec.rateLimit {grpcService, domain}, or fix the name");
      return undefined;
    }
    if (provider.field !== "rateLimit") {
      this.#reporter.error(from, at, `GatewayExtension ${wanted} is of type ${TYPE_OF_FIELD[provider.field]}, not RateLimit`, "name a GatewayExtension that sets spec.rateLimit");
      return undefined;
    }
    // undefined: its own errors are already reported.
    return provider.rateLimit;
  }
}

function readExtension(e: Resource, backends: BackendResolver, reporter: Reporter): Provider | undefined {
  const spec = e.spec;
  const set = PROVIDER_FIELDS.filter((f) => spec[f] !== undefined);
  if (set.length !== 1) {
    reporter.error(e, ["spec"], set.length === 0 ? "a GatewayExtension needs one of extAuth, extProc, rateLimit, jwt or oauth2" : `${set.join(" and ")} are set; a GatewayExtension holds exactly one`, "keep the one this extension is for");
    return undefined;
  }
  const field = set[0]!;
  const declared = spec["type"] as string | undefined;
  if (declared !== undefined && declared !== TYPE_OF_FIELD[field]) {
    reporter.error(e, ["spec", "type"], `type ${declared} does not match ${field}, which is set`, `write type: ${TYPE_OF_FIELD[field]}, or remove type (kgateway deprecated it)`);
    return undefined;
  }
  if (field !== "rateLimit") return { field, rateLimit: undefined };
  return { field, rateLimit: readRateLimit(e, backends, reporter, spec["rateLimit"] as Record<string, unknown>) };
}

function readRateLimit(e: Resource, backends: BackendResolver, reporter: Reporter, cfg: Record<string, unknown>): RateLimitProvider | undefined {
  const at = ["spec", "rateLimit"];
  const grpc = cfg["grpcService"] as Record<string, unknown>;
  if (grpc["authority"] !== undefined) {
    reporter.warn(e, [...at, "grpcService", "authority"], "authority is not applied: calls carry the service's host as their :authority", "remove authority, or point backendRef at the name the service expects");
  }
  if (grpc["retry"] !== undefined) {
    reporter.warn(e, [...at, "grpcService", "retry"], "retry is not applied: a failed call is not repeated (failOpen decides what the request gets)", "remove retry");
  }
  // The call's limit: `timeout`, or the grpcService's requestTimeout when that is shorter.
  const timeoutMs = cfg["timeout"] === undefined ? DEFAULT_RATE_LIMIT_TIMEOUT_MS : parseDuration(String(cfg["timeout"]));
  const requestTimeoutMs = grpc["requestTimeout"] === undefined ? undefined : parseDuration(String(grpc["requestTimeout"]));
  for (const [ms, where] of [
    [timeoutMs, [...at, "timeout"]],
    [requestTimeoutMs, [...at, "grpcService", "requestTimeout"]],
  ] as const) {
    if (ms === 0) reporter.error(e, where, "a rate limit call cannot have a zero time limit", "use at least 1ms; kgateway's default is 100ms");
  }
  const backend = backends.resolve(e, "gateway.kgateway.dev", grpc["backendRef"] as BackendRefSpec, [...at, "grpcService", "backendRef"]);
  if (backend === undefined || timeoutMs === undefined || timeoutMs === 0 || requestTimeoutMs === 0) return undefined;
  return {
    name: key(e),
    backendKey: backend.key,
    domain: String(cfg["domain"]),
    failOpen: (cfg["failOpen"] as boolean | undefined) ?? true,
    timeoutMs: requestTimeoutMs === undefined ? timeoutMs : Math.min(timeoutMs, requestTimeoutMs),
    rateLimitHeaders: cfg["xRateLimitHeaders"] === "DraftVersion03",
  };
}
