// kgateway's GatewayExtension `extAuth`: an authorization service that TrafficPolicies name
// in `extAuth.extensionRef`. Over gRPC it is Envoy's ext_authz service; over HTTP a service
// asked with the request's method and path (behind `pathPrefix`) whose 200 allows, as Envoy's
// ext_authz http_service. Both run through the same check as the HTTPRoute ExternalAuth filter.
import { parseEnvoyFormat } from "../format/envoy-operators.ts";
import { authPathPrefix, listedHeader } from "./external-auth-filter.ts";
import { serviceTimeoutMs, warnUnappliedServiceFields } from "./extension-service.ts";
import type { BackendRefSpec, BackendResolver } from "./resolve-backends.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";
import { key } from "./resources.ts";
import { FIELD_VALUE_HINT, isFieldValue } from "./name-formats.ts";
import { isSensitiveHeader } from "./sensitive.ts";
import { uniqueList } from "./set-lists.ts";

/** Envoy's ext_authz default for a gRPC check (kgateway sets none). */
const GRPC_DEFAULT_TIMEOUT_MS = 200;
/** Statuses whose answer has no body (RFC 9110 §15.3.5, §15.3.6, §15.4.5): never a refusal's. */
const BODILESS_STATUSES = new Set([204, 205, 304]);
/** kgateway's default for an HTTP check. */
const HTTP_DEFAULT_TIMEOUT_MS = 2_000;

/** `withRequestBody`: the body goes with the check. */
export interface ExtAuthBody {
  /** A longer body is refused with 413. */
  readonly maxBytes: number;
  /** gRPC: as bytes (`raw_body`) even when it is text. */
  readonly asBytes: boolean;
}

/** A GatewayExtension of type ExtAuth, as the gateway calls it. */
export interface ExternalAuthProvider {
  /** `namespace/name` of the GatewayExtension. */
  readonly name: string;
  readonly protocol: "HTTP" | "GRPC";
  readonly backendKey: string;
  /** HTTP: put before the request's path; no trailing `/`, '' for none. */
  readonly pathPrefix: string;
  readonly timeoutMs: number;
  /** `headersToForward`, lower case: HTTP sends them beside Host and Authorization; gRPC sends only them (empty: all). */
  readonly allowedRequestHeaders: readonly string[];
  /** HTTP `headersToBackend`, lower case: the allowing answer's headers put on the forwarded request (none when empty). */
  readonly allowedResponseHeaders: readonly string[];
  readonly failOpen: boolean;
  readonly statusOnError: number;
  readonly percentEnabled: number;
  readonly body: ExtAuthBody | undefined;
  readonly checkHeadersToAdd: readonly { readonly name: string; readonly value: string }[];
  readonly clientHeadersOnDenial: readonly string[] | undefined;
  readonly clientHeadersOnSuccess: readonly string[];
}

export function readExtAuthProvider(e: Resource, backends: BackendResolver, reporter: Reporter, cfg: Record<string, unknown>): ExternalAuthProvider | undefined {
  const at = ["spec", "extAuth"];
  const grpc = cfg["grpcService"] as Record<string, unknown> | undefined;
  const http = cfg["httpService"] as Record<string, unknown> | undefined;
  if ((grpc === undefined) === (http === undefined)) {
    reporter.error(e, at, grpc === undefined ? "extAuth needs grpcService or httpService" : "grpcService and httpService are both set; extAuth holds exactly one", "keep the one the authorization service speaks");
    return undefined;
  }
  const protocol = grpc !== undefined ? "GRPC" : "HTTP";
  const service = (grpc ?? http)!;
  const serviceAt = [...at, protocol === "GRPC" ? "grpcService" : "httpService"];
  warnUnappliedServiceFields(e, reporter, service, serviceAt, "failOpen");
  if (cfg["clearRouteCache"] === true) {
    reporter.warn(e, [...at, "clearRouteCache"], "clearRouteCache is not applied: the route is chosen before the check and headers the service sets do not choose another", "remove clearRouteCache, or match the route on what the client sends");
  }
  if (cfg["statPrefix"] !== undefined) {
    reporter.warn(e, [...at, "statPrefix"], "statPrefix is not applied: tollgate.ext_authz.checks names the TrafficPolicy instead", "remove statPrefix");
  }
  const timeoutMs = serviceTimeoutMs(
    e,
    reporter,
    service["requestTimeout"],
    [...serviceAt, "requestTimeout"],
    protocol === "GRPC" ? GRPC_DEFAULT_TIMEOUT_MS : HTTP_DEFAULT_TIMEOUT_MS,
    "an authorization check",
    protocol === "GRPC" ? "the default is 200ms" : "the default is 2s",
  );
  const request = uniqueList(e, reporter, cfg["headersToForward"], [...at, "headersToForward"], (value, where) => listedHeader(e, reporter, value, where, "request"), true);
  const answer = (http?.["authorizationResponse"] ?? {}) as Record<string, unknown>;
  const responseAt = [...serviceAt, "authorizationResponse"];
  const responseList = (field: string, list: "response" | "client"): string[] => uniqueList(e, reporter, answer[field], [...responseAt, field], (value, where) => listedHeader(e, reporter, value, where, list), true);
  const pathPrefix = http === undefined ? "" : authPathPrefix(e, reporter, http["pathPrefix"], [...serviceAt, "pathPrefix"]);
  const checkHeadersToAdd = http === undefined ? [] : headersToAdd(e, reporter, http["authorizationRequest"], [...serviceAt, "authorizationRequest", "headersToAdd"]);
  // An empty list is no list, as kgateway builds no matcher from one: the whole denial goes.
  const clientList = answer["headersToClient"] as unknown[] | undefined;
  const clientHeadersOnDenial = clientList === undefined || clientList.length === 0 ? undefined : responseList("headersToClient", "client");
  const allowedResponseHeaders = responseList("headersToBackend", "response");
  const clientHeadersOnSuccess = responseList("headersToClientOnSuccess", "client");
  const statusOnError = (cfg["statusOnError"] as number | undefined) ?? 403;
  if (statusOnError < 200 || BODILESS_STATUSES.has(statusOnError)) {
    const why = statusOnError < 200 ? "is not a final status: the client must get an answer" : "carries no body, and the refusal is a JSON body";
    reporter.error(e, [...at, "statusOnError"], `${statusOnError} ${why}`, "use a status from 200 to 511 other than 204, 205 and 304; the default is 403");
  }
  const body = cfg["withRequestBody"] === undefined ? undefined : readExtAuthBody(e, reporter, cfg["withRequestBody"] as Record<string, unknown>, [...at, "withRequestBody"]);
  const backend = backends.resolve(e, "gateway.kgateway.dev", service["backendRef"] as BackendRefSpec, [...serviceAt, "backendRef"]);
  if (backend === undefined || timeoutMs === undefined || pathPrefix === undefined || checkHeadersToAdd === undefined) return undefined;
  return {
    name: key(e),
    protocol,
    backendKey: backend.key,
    pathPrefix,
    timeoutMs,
    allowedRequestHeaders: request,
    allowedResponseHeaders,
    failOpen: cfg["failOpen"] === true,
    statusOnError,
    percentEnabled: (cfg["percentageEnabled"] as number | undefined) ?? 100,
    body,
    checkHeadersToAdd,
    // Envoy always lets these through with a listed denial: a redirect or a challenge needs them.
    clientHeadersOnDenial: clientHeadersOnDenial === undefined ? undefined : [...new Set([...clientHeadersOnDenial, "www-authenticate", "location"])],
    clientHeadersOnSuccess,
  };
}

/**
 * `withRequestBody`. `allowPartialMessage: true` is refused: Tollgate sends the upstream the
 * body the check read, so it would hold bodies of any size whole; kgateway's default (a
 * larger body gets 413) is what it does.
 */
export function readExtAuthBody(r: Resource, reporter: Reporter, cfg: Record<string, unknown>, at: Segments): ExtAuthBody {
  if (cfg["allowPartialMessage"] === true) {
    reporter.error(r, [...at, "allowPartialMessage"], "allowPartialMessage is not supported: a body the check reads is held whole, so a larger one cannot be checked in part", "remove it (a body over maxRequestBytes then gets 413), or raise maxRequestBytes to the largest body the route takes");
  }
  return { maxBytes: Number(cfg["maxRequestBytes"]), asBytes: cfg["packAsBytes"] === true };
}

/**
 * `authorizationRequest.headersToAdd`: Envoy reads the values as format strings; Tollgate
 * takes literal ones (`%%` is a percent sign) and refuses operators rather than send them
 * unrendered. Undefined when one is refused (reported).
 */
function headersToAdd(e: Resource, reporter: Reporter, raw: unknown, at: Segments): { name: string; value: string }[] | undefined {
  const map = ((raw as Record<string, unknown> | undefined)?.["headersToAdd"] ?? {}) as Record<string, string>;
  const out: { name: string; value: string }[] = [];
  let usable = true;
  for (const [rawName, value] of Object.entries(map)) {
    const name = listedHeader(e, reporter, rawName, [...at, rawName], "request");
    if (name === undefined) {
      usable = false;
      continue;
    }
    if (name === "host" || name === "content-length") {
      reporter.error(e, [...at, rawName], `${name} cannot be set on the check: the gateway writes it from the request`, "remove this entry");
      usable = false;
      continue;
    }
    const { parts, errors } = parseEnvoyFormat(value);
    const unsupported = parts.find((p) => p.kind !== "literal");
    if (errors.length > 0 || unsupported !== undefined) {
      // A credential's value stays out of load errors, as out of every other view of the config.
      const shown = isSensitiveHeader(name) ? "the value" : `"${value}"`;
      reporter.error(e, [...at, rawName], errors.length > 0 ? `${shown}: ${errors[0]!.message}` : `${shown} uses a command operator; the check's headers take literal values only`, "write the value itself (%% for a percent sign); the service sees the request's headers through headersToForward");
      usable = false;
      continue;
    }
    const rendered = parts.map((p) => (p.kind === "literal" ? p.text : "")).join("");
    if (!isFieldValue(rendered)) {
      // Caught here, or every check would fail to start (and failOpen let every request through).
      reporter.error(e, [...at, rawName], `the value of header "${rawName}" holds a character no HTTP header may carry`, FIELD_VALUE_HINT);
      usable = false;
      continue;
    }
    out.push({ name, value: rendered });
  }
  return usable ? out : undefined;
}
