// The HTTPRoute ExternalAuth filter, checked as the Gateway API CRD validates it (the
// protocol and its block agree, the path pattern, set semantics) plus the header names the
// gateway never copies. Its backendRef must resolve: an authorization check left out would let every request
// through, so a broken reference fails the load instead of opening the route.
import type { ExternalAuthModel } from "./model.ts";
import type { BackendRefSpec, BackendResolver } from "./resolve-backends.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";
import { headerName, uniqueList } from "./set-lists.ts";

/**
 * What Gateway API leaves to the implementation, as Envoy Gateway and Envoy's ext_authz
 * default it: fail closed with 403, a 10 s limit (Envoy Gateway's), every request checked.
 */
const GATEWAY_API_DEFAULTS = {
  type: "ExternalAuth",
  policyName: "",
  timeoutMs: 10_000,
  failOpen: false,
  statusOnError: 403,
  percentEnabled: 100,
  bodyAsBytes: false,
  contextExtensions: {},
  checkHeadersToAdd: [],
  clientHeadersOnDenial: undefined,
  clientHeadersOnSuccess: [],
} as const;

/** The CRD's pattern for `http.path`: the characters of a path, and percent-escapes. */
const AUTH_PATH = /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+$/;

export function externalAuthFilter(r: Resource, reporter: Reporter, cfg: Record<string, unknown>, at: Segments, backends: BackendResolver): ExternalAuthModel | undefined {
  const protocol = cfg["protocol"] === "GRPC" ? "GRPC" : "HTTP";
  const http = cfg["http"] as Record<string, unknown> | undefined;
  const grpc = cfg["grpc"] as Record<string, unknown> | undefined;
  let usable = true;
  // The CRD's CEL rules: the block of the other protocol must be unset; HTTP needs its own.
  if (protocol === "HTTP" && http === undefined) {
    reporter.report("error", r, [...at, "http"], "protocol HTTP needs http", "add http: {} (its fields are optional)", { missing: true });
    usable = false;
  }
  if (grpc !== undefined && protocol !== "GRPC") {
    reporter.error(r, [...at, "grpc"], `grpc is set but protocol is ${String(cfg["protocol"])}`, "remove grpc, or set protocol: GRPC");
    usable = false;
  }
  if (http !== undefined && protocol === "GRPC") {
    reporter.error(r, [...at, "http"], "http is set but protocol is GRPC", "remove http, or set protocol: HTTP");
    usable = false;
  }
  const forwardBodyBytes = (cfg["forwardBody"] as { maxSize?: number } | undefined)?.maxSize ?? 0;
  const pathPrefix = http === undefined ? "" : authPathPrefix(r, reporter, http["path"], [...at, "http", "path"]);
  const requestList = protocol === "GRPC" ? grpc?.["allowedHeaders"] : http?.["allowedHeaders"];
  const allowedRequestHeaders = uniqueList(
    r,
    reporter,
    requestList,
    [...at, protocol === "GRPC" ? "grpc" : "http", "allowedHeaders"],
    (value, where) => listedHeader(r, reporter, value, where, "request"),
    true,
  );
  const allowedResponseHeaders = uniqueList(
    r,
    reporter,
    http?.["allowedResponseHeaders"],
    [...at, "http", "allowedResponseHeaders"],
    (value, where) => listedHeader(r, reporter, value, where, "response"),
    true,
  );
  // Resolved even when the filter is already refused, so one load reports every problem of it.
  const backend = backends.resolve(r, "gateway.networking.k8s.io", cfg["backendRef"] as BackendRefSpec, [...at, "backendRef"]);
  if (!usable || backend === undefined || pathPrefix === undefined) return undefined;
  return {
    ...GATEWAY_API_DEFAULTS,
    protocol,
    backendKey: backend.key,
    pathPrefix,
    allowedRequestHeaders,
    allowedResponseHeaders,
    answerHeadersWhenUnlisted: "all",
    forwardBodyBytes,
  };
}

/**
 * Headers that frame a message or name one connection: never copied between the client's
 * request, the check and the forwarded request. (Host, Authorization and Content-Length are
 * always sent on the check, so listing them in `allowedHeaders` changes nothing.)
 */
const NEVER_COPIED = new Set([
  "transfer-encoding", "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
  "proxy-authorization", "proxy-authenticate", "http2-settings",
]);

/**
 * A header name of a list of the check: the request's, sent on the check (`request`); the
 * answer's, put on the forwarded request (`response`); or the answer's, put on the client's
 * (`client`). Lower-cased; undefined (reported) when it is `*`, not a token, or never copied
 * there.
 */
export function listedHeader(r: Resource, reporter: Reporter, value: string, at: Segments, list: "request" | "response" | "client"): string | undefined {
  if (value === "*") {
    reporter.error(r, at, `"*" is not a wildcard here: these lists have none`, "list the header names");
    return undefined;
  }
  const name = headerName(r, reporter, value, at);
  if (name === undefined) return undefined;
  const why = refusalOf(name, list);
  if (why === undefined) return name;
  reporter.error(r, at, `header "${value}" cannot be copied here: ${why}`, "remove this entry");
  return undefined;
}

/** Why `name` cannot stand in that list; undefined when it can. */
function refusalOf(name: string, list: "request" | "response" | "client"): string | undefined {
  if (list === "client") return NEVER_COPIED.has(name) || name === "content-length" ? "the gateway frames the client's answer and runs its connection itself" : undefined;
  if (name === "expect") return "the gateway answers Expect: 100-continue itself";
  if (list === "request") return NEVER_COPIED.has(name) ? "it names one connection and never leaves it" : undefined;
  if (name === "host") return "the forwarded request keeps the client's Host";
  return NEVER_COPIED.has(name) || name === "content-length" ? "the gateway frames the forwarded request and runs its connection itself" : undefined;
}

/** The path prefix without its trailing `/` ('' when unset), or undefined when it is invalid (reported). */
export function authPathPrefix(r: Resource, reporter: Reporter, raw: unknown, at: Segments): string | undefined {
  if (raw === undefined || raw === "") return "";
  const path = String(raw);
  if (!AUTH_PATH.test(path)) {
    reporter.error(r, at, `"${path}" is not a path`, "use letters, digits, -._~!$&'()*+,;=:@/ and %XX escapes, e.g. /auth");
    return undefined;
  }
  if (!path.startsWith("/")) {
    reporter.error(r, at, "the path prefix must start with /", `write "/${path}"`);
    return undefined;
  }
  // Gateway API asks for the checks of a match path: the service must see the path it expects.
  if (/\/\/|\/(?:\.|%2e){1,2}(?:\/|$)|%2f/i.test(path)) {
    reporter.error(r, at, `"${path}" is not a normalised path: it holds "//", a "." or ".." segment (plain or encoded), or an encoded "/"`, "write the path as the service expects it, e.g. /auth/verify");
    return undefined;
  }
  return path.replace(/\/+$/, "");
}
