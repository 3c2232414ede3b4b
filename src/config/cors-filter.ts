// The HTTPRoute CORS filter, checked as the Gateway API CRD validates it (origin format, `*`
// alone, set semantics), with a hint per problem, and normalised so the proxy compares origins
// as browsers serialise them: lower case, no default port.
import type { CorsModel } from "./model.ts";
import { headerName, uniqueList } from "./set-lists.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";

/** The CRD's CORSOrigin pattern, with the parts captured: scheme, host (optionally `*.` first, or `*`), port. */
const ORIGIN = /^(http|https):\/\/((?:\*\.)?(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+|\*)(?::([0-9]{1,5}))?$/;
const ORIGIN_HINT = 'write scheme://host[:port], e.g. https://app.example.com, https://*.example.com or "*"';
const DEFAULT_MAX_AGE_SECONDS = 5;

export function corsFilter(r: Resource, reporter: Reporter, cfg: Record<string, unknown>, at: Segments): CorsModel {
  const origins = uniqueList(r, reporter, cfg["allowOrigins"], [...at, "allowOrigins"], (value, where) => normalisedOrigin(r, reporter, value, where));
  const methods = uniqueList(r, reporter, cfg["allowMethods"], [...at, "allowMethods"], (value) => value);
  const allowHeaders = uniqueList(r, reporter, cfg["allowHeaders"], [...at, "allowHeaders"], (value, where) => headerName(r, reporter, value, where));
  // The CRD lets `*` stand beside other names here (unlike allowHeaders): with credentials
  // a browser reads `*` as a name, so the named entries are still sent.
  const exposeHeaders = uniqueList(r, reporter, cfg["exposeHeaders"], [...at, "exposeHeaders"], (value, where) => headerName(r, reporter, value, where), true);
  return {
    type: "CORS",
    allowOrigins: origins,
    allowCredentials: cfg["allowCredentials"] === true,
    allowMethods: methods,
    allowHeaders,
    exposeHeaders,
    maxAgeSeconds: typeof cfg["maxAge"] === "number" ? cfg["maxAge"] : DEFAULT_MAX_AGE_SECONDS,
  };
}

function normalisedOrigin(r: Resource, reporter: Reporter, value: string, at: Segments): string | undefined {
  if (value === "*") return value;
  const m = ORIGIN.exec(value);
  if (m === null) {
    reporter.error(r, at, `"${value}" is not a CORS origin`, originHint(value));
    return undefined;
  }
  const scheme = m[1]!;
  const host = m[2]!.toLowerCase();
  const port = m[3];
  if (port !== undefined) {
    const n = Number(port);
    if (n < 1 || n > 65535) {
      reporter.error(r, at, `port ${port} of "${value}" is not a TCP port`, "use a port from 1 to 65535");
      return undefined;
    }
    // Browsers leave the scheme's own port out of the Origin they send.
    if ((scheme === "http" && n === 80) || (scheme === "https" && n === 443)) return `${scheme}://${host}`;
    return `${scheme}://${host}:${n}`;
  }
  return `${scheme}://${host}`;
}

/** The common slips get a hint of their own: a trailing slash or path, an upper-case scheme, a wildcard inside the host. */
function originHint(value: string): string {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(value);
  if (scheme === null) return `an origin starts with http:// or https://; ${ORIGIN_HINT}`;
  const rest = value.slice(scheme[0].length);
  if (rest.includes("/")) return `an origin has no path, not even a trailing "/": write ${scheme[0]}${rest.slice(0, rest.indexOf("/"))}`;
  if (scheme[1] !== "http" && scheme[1] !== "https") return `only http and https origins are allowed, in lower case; ${ORIGIN_HINT}`;
  if (rest.includes("*")) return `"*" may only stand first in the host, as a whole label ("*.example.com"), or be the whole host`;
  return ORIGIN_HINT;
}
