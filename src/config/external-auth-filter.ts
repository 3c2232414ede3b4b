// The HTTPRoute ExternalAuth filter, checked as the Gateway API CRD validates it (the
// protocol and its block agree, the path pattern, set semantics) plus what Tollgate cannot do
// yet. Its backendRef must resolve: an authorization check left out would let every request
// through, so a broken reference fails the load instead of opening the route.
import type { ExternalAuthModel } from "./model.ts";
import type { BackendRefSpec, BackendResolver } from "./resolve-backends.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";
import { headerName, uniqueList } from "./set-lists.ts";

/** The CRD's pattern for `http.path`: the characters of a path, and percent-escapes. */
const AUTH_PATH = /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+$/;

export function externalAuthFilter(r: Resource, reporter: Reporter, cfg: Record<string, unknown>, at: Segments, backends: BackendResolver): ExternalAuthModel | undefined {
  const protocol = cfg["protocol"];
  const http = cfg["http"] as Record<string, unknown> | undefined;
  let usable = true;
  if (protocol === "GRPC") {
    reporter.error(r, [...at, "protocol"], "protocol GRPC (Envoy's ext_authz gRPC service) is not supported yet", "use protocol: HTTP with an authorization service that answers 200 to allow");
    usable = false;
  } else if (http === undefined) {
    reporter.report("error", r, [...at, "http"], "protocol HTTP needs http", "add http: {} (its fields are optional)", { missing: true });
    usable = false;
  }
  if (cfg["grpc"] !== undefined && protocol !== "GRPC") {
    reporter.error(r, [...at, "grpc"], `grpc is set but protocol is ${String(protocol)}`, "remove grpc, or set protocol: GRPC");
    usable = false;
  }
  const maxSize = (cfg["forwardBody"] as { maxSize?: number } | undefined)?.maxSize ?? 0;
  if (maxSize > 0) {
    reporter.error(r, [...at, "forwardBody", "maxSize"], "forwarding the request body to the authorization service is not supported yet", "remove forwardBody, or set maxSize: 0");
    usable = false;
  }
  const pathPrefix = http === undefined ? "" : authPathPrefix(r, reporter, http["path"], [...at, "http", "path"]);
  const allowedRequestHeaders = uniqueList(r, reporter, http?.["allowedHeaders"], [...at, "http", "allowedHeaders"], (value, where) =>
    copyableHeader(r, reporter, value, where, "request headers of this kind name one connection and never leave it"),
  );
  const allowedResponseHeaders = uniqueList(r, reporter, http?.["allowedResponseHeaders"], [...at, "http", "allowedResponseHeaders"], (value, where) =>
    copyableHeader(r, reporter, value, where, "the gateway frames the forwarded request and names its upstream itself"),
  );
  // Resolved even when the filter is already refused, so one load reports every problem of it.
  const backend = backends.resolve(r, "gateway.networking.k8s.io", cfg["backendRef"] as BackendRefSpec, [...at, "backendRef"]);
  if (!usable || backend === undefined || pathPrefix === undefined) return undefined;
  return { type: "ExternalAuth", backendKey: backend.key, pathPrefix, allowedRequestHeaders, allowedResponseHeaders };
}

/**
 * Headers that frame a message or name one connection: never copied between the client's
 * request, the check and the forwarded request.
 */
const NEVER_COPIED = new Set(["host", "content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "expect"]);

function copyableHeader(r: Resource, reporter: Reporter, value: string, at: Segments, why: string): string | undefined {
  const name = headerName(r, reporter, value, at);
  if (name === undefined || !NEVER_COPIED.has(name)) return name;
  // Host is always sent on the check; the others are the gateway's to write.
  reporter.error(r, at, `header "${value}" cannot be copied here: ${name === "host" ? "the check always carries the request's Host, and the forwarded request keeps it" : why}`, "remove this entry");
  return undefined;
}

/** The path prefix without its trailing `/` ('' when unset), or undefined when it is invalid (reported). */
function authPathPrefix(r: Resource, reporter: Reporter, raw: unknown, at: Segments): string | undefined {
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
  return path.replace(/\/+$/, "");
}
