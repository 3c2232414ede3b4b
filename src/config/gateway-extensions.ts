// kgateway's GatewayExtension: a service the gateway calls on behalf of the policies that name
// it. Tollgate calls rate limit services (`rateLimit`, Envoy's rls gRPC protocol) and
// authorization services (`extAuth`, ext-auth-provider.ts) and verifies tokens with JWT
// providers (`jwt`, jwt-providers.ts); the other kinds of extension (extProc, oauth2) are read
// as written but not implemented, so a TrafficPolicy naming one fails the load rather than
// leave its routes unguarded.
import { serviceTimeoutMs, warnUnappliedServiceFields } from "./extension-service.ts";
import { type ExternalAuthProvider, readExtAuthProvider } from "./ext-auth-provider.ts";
import type { BackendRefSpec, BackendResolver } from "./resolve-backends.ts";
import type { ConfigMapStore } from "./config-maps.ts";
import { type JwtProviderSet, readJwtProviderSet } from "./jwt-providers.ts";
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

/** `provider` is undefined for the kinds Tollgate does not call, and for a broken extension (reported). */
type Provider =
  | { readonly field: "rateLimit"; readonly provider: RateLimitProvider | undefined }
  | { readonly field: "extAuth"; readonly provider: ExternalAuthProvider | undefined }
  | { readonly field: "jwt"; readonly provider: JwtProviderSet | undefined }
  | { readonly field: "extProc" | "oauth2"; readonly provider: undefined };

/** The spec block a TrafficPolicy section needs, and how to write one. */
const WANTED = {
  rateLimit: { type: "RateLimit", example: "spec.rateLimit {grpcService, domain}" },
  extAuth: { type: "ExtAuth", example: "spec.extAuth {grpcService} or {httpService}" },
  jwt: { type: "JWT", example: "spec.jwt {providers}" },
} as const;

export class GatewayExtensions {
  readonly #byKey = new Map<string, Provider>();
  readonly #reporter: Reporter;

  /** Reads every GatewayExtension once, so a broken one is reported whether or not a policy names it. */
  constructor(extensions: readonly Resource[], backends: BackendResolver, configMaps: ConfigMapStore, reporter: Reporter) {
    this.#reporter = reporter;
    for (const e of extensions) {
      const provider = readExtension(e, backends, configMaps, reporter);
      if (provider !== undefined) this.#byKey.set(key(e), provider);
    }
  }

  /**
   * The rate limit service `ref` names, from `from` at `at`; undefined (reported, unless the
   * extension itself already failed) when there is none to call.
   */
  rateLimitProvider(from: Resource, ref: ExtensionRef, at: Segments): RateLimitProvider | undefined {
    const found = this.#provider(from, ref, at, "rateLimit");
    return found?.field === "rateLimit" ? found.provider : undefined;
  }

  /** The authorization service `ref` names, likewise. */
  externalAuthProvider(from: Resource, ref: ExtensionRef, at: Segments): ExternalAuthProvider | undefined {
    const found = this.#provider(from, ref, at, "extAuth");
    return found?.field === "extAuth" ? found.provider : undefined;
  }

  /** The JWT providers `ref` names, likewise. */
  jwtProviders(from: Resource, ref: ExtensionRef, at: Segments): JwtProviderSet | undefined {
    const found = this.#provider(from, ref, at, "jwt");
    return found?.field === "jwt" ? found.provider : undefined;
  }

  #provider(from: Resource, ref: ExtensionRef, at: Segments, field: keyof typeof WANTED): Provider | undefined {
    const namespace = ref.namespace ?? from.namespace;
    const wanted = `${namespace}/${ref.name}`;
    if (this.#reporter.isBroken("GatewayExtension", namespace, ref.name)) return undefined;
    const provider = this.#byKey.get(wanted);
    const { type, example } = WANTED[field];
    if (provider === undefined) {
      this.#reporter.error(from, at, `GatewayExtension ${wanted} is not in the file`, `add a gateway.kgateway.dev/v1alpha1 GatewayExtension with ${example}, or fix the name`);
      return undefined;
    }
    if (provider.field !== field) {
      this.#reporter.error(from, at, `GatewayExtension ${wanted} is of type ${TYPE_OF_FIELD[provider.field]}, not ${type}`, `name a GatewayExtension that sets spec.${field}`);
      return undefined;
    }
    return provider;
  }
}

export interface ExtensionRef {
  readonly name: string;
  readonly namespace?: string;
}

function readExtension(e: Resource, backends: BackendResolver, configMaps: ConfigMapStore, reporter: Reporter): Provider | undefined {
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
  if (field === "rateLimit") return { field, provider: readRateLimit(e, backends, reporter, spec["rateLimit"] as Record<string, unknown>) };
  if (field === "extAuth") return { field, provider: readExtAuthProvider(e, backends, reporter, spec["extAuth"] as Record<string, unknown>) };
  if (field === "jwt") return { field, provider: readJwtProviderSet(e, reporter, spec["jwt"] as Record<string, unknown>, { configMaps, backends }) };
  return { field, provider: undefined };
}

function readRateLimit(e: Resource, backends: BackendResolver, reporter: Reporter, cfg: Record<string, unknown>): RateLimitProvider | undefined {
  const at = ["spec", "rateLimit"];
  const grpc = cfg["grpcService"] as Record<string, unknown>;
  warnUnappliedServiceFields(e, reporter, grpc, [...at, "grpcService"], "failOpen");
  // The call's limit: `timeout`, or the grpcService's requestTimeout when that is shorter.
  const timeoutMs = serviceTimeoutMs(e, reporter, cfg["timeout"], [...at, "timeout"], DEFAULT_RATE_LIMIT_TIMEOUT_MS, "a rate limit call", "kgateway's default is 100ms");
  const requestTimeoutMs = serviceTimeoutMs(e, reporter, grpc["requestTimeout"], [...at, "grpcService", "requestTimeout"], Number.POSITIVE_INFINITY, "a rate limit call", "kgateway's default is 100ms");
  const backend = backends.resolve(e, "gateway.kgateway.dev", grpc["backendRef"] as BackendRefSpec, [...at, "grpcService", "backendRef"]);
  if (backend === undefined || timeoutMs === undefined || requestTimeoutMs === undefined) return undefined;
  return {
    name: key(e),
    backendKey: backend.key,
    domain: String(cfg["domain"]),
    failOpen: (cfg["failOpen"] as boolean | undefined) ?? true,
    timeoutMs: Math.min(timeoutMs, requestTimeoutMs),
    rateLimitHeaders: cfg["xRateLimitHeaders"] === "DraftVersion03",
  };
}
