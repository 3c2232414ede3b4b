// HTTPRoute filters (rule-level and per-backendRef) to FilterModels.
import type { FilterModel, HeaderModifierModel, MatchModel, PathModifierModel } from "./model.ts";
import { corsFilter } from "./cors-filter.ts";
import { externalAuthFilter } from "./external-auth-filter.ts";
import { fractionRatio } from "./fraction.ts";
import { hostnameProblem } from "./hostnames.ts";
import { FIELD_VALUE_HINT, HTTP_TOKEN_HINT, isFieldValue, isHttpToken } from "./name-formats.ts";
import type { BackendRefSpec, BackendResolver } from "./resolve-backends.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";

const FIELD_OF: Readonly<Record<string, string>> = {
  RequestHeaderModifier: "requestHeaderModifier",
  ResponseHeaderModifier: "responseHeaderModifier",
  RequestRedirect: "requestRedirect",
  URLRewrite: "urlRewrite",
  ExtensionRef: "extensionRef",
  RequestMirror: "requestMirror",
  CORS: "cors",
  ExternalAuth: "externalAuth",
};
const KGATEWAY_GROUP = "gateway.kgateway.dev";

export function resolveFilters(
  r: Resource,
  reporter: Reporter,
  filters: readonly Record<string, any>[],
  at: Segments,
  matches: readonly MatchModel[],
  directResponses: ReadonlyMap<string, Resource>,
  backends: BackendResolver,
  perBackend: boolean,
): FilterModel[] {
  const out: FilterModel[] = [];
  const seenTypes = new Map<string, number>();
  filters.forEach((f, i) => {
    const fat = [...at, i];
    const type = String(f["type"]);
    const field = FIELD_OF[type]!;
    for (const [t, other] of Object.entries(FIELD_OF)) {
      if (other !== field && f[other] !== undefined) reporter.error(r, [...fat, other], `${other} is set but type is ${type}`, `set type: ${t} or remove ${other}`);
    }
    if (f[field] === undefined) {
      reporter.report("error", r, [...fat, field], `type ${type} needs ${field}`, `add ${field}`, { missing: true });
      return;
    }
    // Gateway API lets ExtensionRef and RequestMirror repeat: several mirrors each get a copy.
    if (type !== "ExtensionRef" && type !== "RequestMirror") {
      const prev = seenTypes.get(type);
      if (prev !== undefined) {
        const hint = type === "ExternalAuth" ? "keep one check per rule; a service can ask others itself" : "merge them into one filter";
        reporter.error(r, [...fat, "type"], `${type} appears twice (also filters[${prev}])`, hint);
      }
      seenTypes.set(type, i);
    }
    const cfg = f[field] as Record<string, any>;
    switch (type) {
      case "RequestHeaderModifier":
      case "ResponseHeaderModifier":
        out.push({ type, modifier: headerModifier(r, reporter, cfg, [...fat, field], type === "RequestHeaderModifier") });
        return;
      case "RequestRedirect": {
        if (perBackend) {
          reporter.error(r, [...fat, "type"], "RequestRedirect is not allowed on a backendRef", "move it to the rule's filters");
          return;
        }
        const hostname = cfg["hostname"] as string | undefined;
        if (hostname !== undefined) checkHost(r, reporter, hostname, [...fat, field, "hostname"]);
        out.push({
          type,
          scheme: cfg["scheme"],
          hostname,
          port: cfg["port"],
          path: pathModifier(r, reporter, cfg["path"], [...fat, field, "path"], matches, false),
          statusCode: (cfg["statusCode"] ?? 302) as 301 | 302 | 303 | 307 | 308,
        });
        return;
      }
      case "URLRewrite": {
        const hostname = cfg["hostname"] as string | undefined;
        if (hostname !== undefined) checkHost(r, reporter, hostname, [...fat, field, "hostname"]);
        out.push({ type, hostname, path: pathModifier(r, reporter, cfg["path"], [...fat, field, "path"], matches, true) });
        return;
      }
      case "ExtensionRef": {
        const group = String(cfg["group"]);
        const kind = String(cfg["kind"]);
        const name = String(cfg["name"]);
        if (group !== KGATEWAY_GROUP || kind !== "DirectResponse") {
          reporter.error(r, [...fat, field], `unsupported extension ${group}/${kind}`, `Tollgate implements ExtensionRef to ${KGATEWAY_GROUP} DirectResponse`);
          return;
        }
        const dr = directResponses.get(`${r.namespace}/${name}`);
        if (dr === undefined) {
          if (reporter.isBroken("DirectResponse", r.namespace, name)) return;
          reporter.error(r, [...fat, field, "name"], `DirectResponse ${r.namespace}/${name} is not defined in the file`, `add a ${KGATEWAY_GROUP}/v1alpha1 DirectResponse named "${name}" in namespace "${r.namespace}"`);
          return;
        }
        const status = Number(dr.spec["status"]);
        const body = String(dr.spec["body"] ?? "");
        if ((status === 204 || status === 304) && body !== "") {
          // RFC 9110 §15.3.5, §15.4.5: such a response ends at its head, so a body could only
          // be read as the start of the next response.
          reporter.error(dr, ["spec", "body"], `a ${status} response carries no body`, "remove the body, or use another status such as 200");
          return;
        }
        out.push({ type: "DirectResponse", status, body, contentType: "text/plain; charset=utf-8" });
        return;
      }
      case "RequestMirror": {
        const mirror = requestMirror(r, reporter, cfg, [...fat, field], backends);
        if (mirror !== undefined) out.push(mirror);
        return;
      }
      case "CORS":
        if (perBackend) {
          // A preflight is answered before a backend is chosen, so only the rule can own it.
          reporter.error(r, [...fat, "type"], "CORS is not supported on a backendRef", "move it to the rule's filters");
          return;
        }
        out.push(corsFilter(r, reporter, cfg, [...fat, field]));
        return;
      case "ExternalAuth": {
        if (perBackend) {
          // The check decides whether the request goes anywhere, so it runs before a backend is chosen.
          reporter.error(r, [...fat, "type"], "ExternalAuth is not supported on a backendRef", "move it to the rule's filters");
          return;
        }
        const auth = externalAuthFilter(r, reporter, cfg, [...fat, field], backends);
        if (auth !== undefined) out.push(auth);
        return;
      }
      default:
        reporter.error(r, [...fat, "type"], `filter ${type} is not supported yet`, "remove this filter");
    }
  });
  const redirect = seenTypes.get("RequestRedirect");
  const rewrite = seenTypes.get("URLRewrite");
  if (redirect !== undefined && rewrite !== undefined) {
    reporter.error(r, [...at, rewrite, "type"], "URLRewrite and RequestRedirect cannot be used in the same rule", "keep one of them");
  }
  return out;
}

/** A mirror with its share of requests; undefined when its backendRef does not resolve (warned) or the share is invalid. */
function requestMirror(r: Resource, reporter: Reporter, cfg: Record<string, any>, at: Segments, backends: BackendResolver): FilterModel | undefined {
  const percent = cfg["percent"] as number | undefined;
  const fraction = cfg["fraction"] as Record<string, number> | undefined;
  let share: number | undefined;
  if (percent !== undefined && fraction !== undefined) {
    reporter.error(r, [...at, "fraction"], "percent and fraction are both set", "keep one of them: percent: 10 or fraction: {numerator: 1, denominator: 10}");
  } else {
    share = percent !== undefined ? percent / 100 : fraction !== undefined ? fractionRatio(r, reporter, fraction, [...at, "fraction"], "a mirrored share") : 1;
  }
  // Resolved even when the share is wrong, so one load reports every problem of the filter.
  const model = backends.resolveMirrorRef(r, cfg["backendRef"] as BackendRefSpec, [...at, "backendRef"]);
  if (share === undefined || model === undefined) return undefined;
  return { type: "RequestMirror", backendKey: model.key, share };
}

/** A redirect's or rewrite's hostname is a PreciseHostname: the one host the request goes to, so no wildcard. */
function checkHost(r: Resource, reporter: Reporter, h: string, at: Segments): void {
  const problem = h.startsWith("*.") ? "a wildcard names no single host to send the request to" : hostnameProblem(h);
  if (problem !== undefined) reporter.error(r, at, `invalid hostname "${h}": ${problem}`, "write one lower-case DNS name, e.g. api.example.com");
}

/**
 * Request headers the gateway writes itself, from how it frames the body and runs the
 * upstream connection; a value from config would contradict it (and undici refuses to send
 * most of them).
 */
const GATEWAY_FRAMED_REQUEST_HEADERS = new Set(["connection", "content-length", "expect", "keep-alive", "transfer-encoding", "upgrade"]);

/**
 * Response headers that frame the answer or run the client connection: a `Content-Length`
 * from config that disagrees with the body desynchronises a kept-alive client, and a
 * `Transfer-Encoding` beside the real framing is ambiguous to every proxy in front.
 * `Connection: close` alone may be set: it ends the connection after the answer.
 */
const GATEWAY_FRAMED_RESPONSE_HEADERS = new Set(["connection", "content-length", "keep-alive", "trailer", "transfer-encoding", "upgrade"]);

export function isGatewayFramedResponseHeader(name: string, value: unknown): boolean {
  const lower = name.toLowerCase();
  if (lower === "connection") return typeof value !== "string" || value.trim().toLowerCase() !== "close";
  return GATEWAY_FRAMED_RESPONSE_HEADERS.has(lower);
}

/**
 * `early`: a listener's earlyRequestHeaderModifier, which runs before the gateway reads how
 * the request is framed and which headers are hop-by-hop, so it may not remove those either.
 */
export function headerModifier(r: Resource, reporter: Reporter, cfg: Record<string, any>, at: Segments, requestSide: boolean, early = false): HeaderModifierModel {
  const names = new Map<string, string>();
  const note = (name: string, where: Segments): void => {
    const lower = name.toLowerCase();
    const prev = names.get(lower);
    if (prev !== undefined) reporter.error(r, where, `header "${name}" is modified twice (also ${prev})`, "a header may appear once across set, add and remove");
    else names.set(lower, where.slice(at.length).join("."));
    if (!isHttpToken(name)) reporter.error(r, where, `"${name}" is not a valid header name`, HTTP_TOKEN_HINT);
  };
  const pairs = (list: { name: string; value: string }[] | undefined, field: string): { name: string; value: string }[] =>
    (list ?? []).map((p, i) => {
      note(p.name, [...at, field, i, "name"]);
      if (requestSide && GATEWAY_FRAMED_REQUEST_HEADERS.has(p.name.toLowerCase())) {
        reporter.error(r, [...at, field, i, "name"], `header "${p.name}" cannot be ${field === "set" ? "set" : "added"} on a forwarded request: the gateway writes it from how it frames the body and runs the upstream connection`, "remove this entry");
      }
      if (!requestSide && isGatewayFramedResponseHeader(p.name, p.value)) {
        reporter.error(r, [...at, field, i, "name"], `header "${p.name}" cannot be ${field === "set" ? "set" : "added"} on a response: the gateway writes it from how it frames the body and runs the client connection`, p.name.toLowerCase() === "connection" ? "only Connection: close may be set; remove this entry" : "remove this entry");
      }
      if (typeof p.value === "string" && !isFieldValue(p.value)) {
        reporter.error(r, [...at, field, i, "value"], `the value of header "${p.name}" holds a character no HTTP header may carry (${describeBadChar(p.value)})`, FIELD_VALUE_HINT);
      }
      return { name: p.name.toLowerCase(), value: p.value };
    });
  const set = pairs(cfg["set"], "set");
  const add = pairs(cfg["add"], "add");
  const remove = ((cfg["remove"] ?? []) as string[]).map((n, i) => {
    note(n, [...at, "remove", i]);
    if (early && GATEWAY_FRAMED_REQUEST_HEADERS.has(n.toLowerCase())) {
      reporter.error(r, [...at, "remove", i], `header "${n}" cannot be removed before the gateway reads the request: it frames the body or says which headers are hop-by-hop`, "remove this entry");
    }
    return n.toLowerCase();
  });
  return { set, add, remove };
}

/** The first character a header value may not hold, named so the error can be acted on. */
function describeBadChar(value: string): string {
  for (const ch of value) {
    if (isFieldValue(ch)) continue;
    const code = ch.codePointAt(0)!;
    const named = code === 10 ? "LF" : code === 13 ? "CR" : code === 0 ? "NUL" : undefined;
    const hex = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
    return named === undefined ? hex : `${named}, ${hex}`;
  }
  return "";
}

/** A rewritten path also becomes a redirect's Location header: it may hold only what a header value can. */
export function checkPathCharacters(r: Resource, reporter: Reporter, value: string, at: Segments): void {
  if (isFieldValue(value)) return;
  reporter.error(r, at, `the path holds a character no HTTP header or request line may carry (${describeBadChar(value)})`, "percent-encode it, e.g. %0A for LF");
}

/**
 * A path the gateway forwards goes into the request line, which takes no whitespace, and a
 * `#` there would start a fragment the upstream never sees as path. Errors, but `?`, which
 * starts a query of its own before the request's, is a warning (Envoy allows it).
 */
export function checkRequestTargetCharacters(r: Resource, reporter: Reporter, value: string, at: Segments, what: string): void {
  const bad = /[ \t#]/.exec(value);
  if (bad !== null) {
    reporter.error(r, at, `${what} holds ${bad[0] === "#" ? "#, which starts a fragment" : "whitespace"}, which a request target cannot carry`, "percent-encode it (%20 for a space, %23 for #)");
  } else if (value.includes("?")) {
    reporter.warn(r, at, `${what} holds ?, so the rewritten path carries a query of its own before the request's (as in Envoy)`, "leave queries to the client, or percent-encode it (%3F)");
  }
}

/** `forwarded`: the path of a URLRewrite, which goes upstream, rather than a redirect's Location. */
function pathModifier(r: Resource, reporter: Reporter, cfg: Record<string, any> | undefined, at: Segments, matches: readonly MatchModel[], forwarded: boolean): PathModifierModel | undefined {
  if (cfg === undefined) return undefined;
  if (cfg["type"] === "ReplaceFullPath") {
    if (cfg["replacePrefixMatch"] !== undefined) reporter.error(r, [...at, "replacePrefixMatch"], "replacePrefixMatch is set but type is ReplaceFullPath", "remove it");
    const value = cfg["replaceFullPath"] as string | undefined;
    if (value === undefined) {
      reporter.report("error", r, [...at, "replaceFullPath"], "type ReplaceFullPath needs replaceFullPath", "add replaceFullPath: /new/path", { missing: true });
      return undefined;
    }
    if (!value.startsWith("/")) reporter.error(r, [...at, "replaceFullPath"], "the path must start with /", `write "/${value}"`);
    checkPathCharacters(r, reporter, value, [...at, "replaceFullPath"]);
    if (forwarded) checkRequestTargetCharacters(r, reporter, value, [...at, "replaceFullPath"], "the path");
    return { type: "ReplaceFullPath", replaceFullPath: value };
  }
  if (cfg["replaceFullPath"] !== undefined) reporter.error(r, [...at, "replaceFullPath"], "replaceFullPath is set but type is ReplacePrefixMatch", "remove it");
  const value = cfg["replacePrefixMatch"] as string | undefined;
  if (value === undefined) {
    reporter.report("error", r, [...at, "replacePrefixMatch"], "type ReplacePrefixMatch needs replacePrefixMatch", "add replacePrefixMatch: /new-prefix", { missing: true });
    return undefined;
  }
  if (!value.startsWith("/")) reporter.error(r, [...at, "replacePrefixMatch"], "the prefix must start with /", `write "/${value}"`);
  checkPathCharacters(r, reporter, value, [...at, "replacePrefixMatch"]);
  if (forwarded) checkRequestTargetCharacters(r, reporter, value, [...at, "replacePrefixMatch"], "the prefix");
  if (matches.some((m) => m.path.type !== "PathPrefix")) {
    reporter.error(r, [...at, "type"], "ReplacePrefixMatch needs every match of the rule to be a PathPrefix match", "use ReplaceFullPath, or PathPrefix matches");
  }
  return { type: "ReplacePrefixMatch", replacePrefixMatch: value };
}
