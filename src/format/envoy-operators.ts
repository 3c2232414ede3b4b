// Parses Envoy access-log command-operator templates (e.g. kgateway's accessLog `body`)
// once, at config time, into parts a renderer walks per request without re-parsing.

/** Operators that take no argument; each renders one value of the finished exchange. */
export const SIMPLE_OPERATORS = [
  "RESPONSE_CODE",
  "RESPONSE_CODE_DETAILS",
  "RESPONSE_FLAGS",
  "DURATION",
  "REQUEST_DURATION",
  "RESPONSE_DURATION",
  "REQUEST_TX_DURATION",
  "RESPONSE_TX_DURATION",
  "PROTOCOL",
  "UPSTREAM_PROTOCOL",
  "BYTES_RECEIVED",
  "BYTES_SENT",
  "UPSTREAM_HOST",
  "UPSTREAM_CLUSTER",
  "UPSTREAM_LOCAL_ADDRESS",
  "UPSTREAM_REQUEST_ATTEMPT_COUNT",
  "UPSTREAM_TRANSPORT_FAILURE_REASON",
  "ROUTE_NAME",
  "TRACE_ID",
  "SPAN_ID",
  "DOWNSTREAM_REMOTE_ADDRESS",
  "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT",
  "DOWNSTREAM_REMOTE_PORT",
  "DOWNSTREAM_DIRECT_REMOTE_ADDRESS",
  "DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT",
  "DOWNSTREAM_DIRECT_REMOTE_PORT",
  "DOWNSTREAM_LOCAL_ADDRESS",
  "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT",
  "DOWNSTREAM_LOCAL_PORT",
  "CONNECTION_ID",
  "REQUESTED_SERVER_NAME",
  "DOWNSTREAM_TLS_VERSION",
  "DOWNSTREAM_TLS_CIPHER",
  "DOWNSTREAM_PEER_SUBJECT",
  "DOWNSTREAM_PEER_ISSUER",
  "DOWNSTREAM_PEER_URI_SAN",
  "DOWNSTREAM_PEER_DNS_SAN",
  "DOWNSTREAM_PEER_FINGERPRINT_256",
  "DOWNSTREAM_PEER_SERIAL",
  "HOSTNAME",
] as const;
export type SimpleOperator = (typeof SIMPLE_OPERATORS)[number];

/** Operators whose value is a number: a format dictionary writes it as one, as Envoy does, and no `:N` truncates it. */
export const NUMBER_OPERATORS: ReadonlySet<SimpleOperator> = new Set([
  "RESPONSE_CODE",
  "DURATION",
  "REQUEST_DURATION",
  "RESPONSE_DURATION",
  "REQUEST_TX_DURATION",
  "RESPONSE_TX_DURATION",
  "BYTES_RECEIVED",
  "BYTES_SENT",
  "UPSTREAM_REQUEST_ATTEMPT_COUNT",
  "DOWNSTREAM_REMOTE_PORT",
  "DOWNSTREAM_DIRECT_REMOTE_PORT",
  "DOWNSTREAM_LOCAL_PORT",
  "CONNECTION_ID",
]);

/** Operators that read a header: `%REQ(X?Y):N%`. */
const HEADER_OPERATORS = ["REQ", "RESP", "TRAILER", "REQ_WITHOUT_QUERY"] as const;

/**
 * One piece of a template. Header names are lower-cased; `:method`, `:path`, `:authority`
 * and `:scheme` stand for the request line / Host / scheme (`:path` includes the query,
 * except under REQ_WITHOUT_QUERY). `maxLength` truncates the rendered value.
 * A value that is absent renders as `-`, as Envoy does.
 */
export type EnvoyFormatPart =
  | { readonly kind: "literal"; readonly text: string }
  | {
      readonly kind: "requestHeader";
      readonly header: string;
      /** `%REQ(X?Y)%`: header used when X is absent. */
      readonly fallback: string | undefined;
      /** REQ_WITHOUT_QUERY: strip `?query` from the value. */
      readonly withoutQuery: boolean;
      readonly maxLength: number | undefined;
    }
  | { readonly kind: "responseHeader"; readonly header: string; readonly fallback: string | undefined; readonly maxLength: number | undefined }
  | { readonly kind: "responseTrailer"; readonly header: string; readonly fallback: string | undefined; readonly maxLength: number | undefined }
  /** `%START_TIME%` (RFC 3339 with ms) or `%START_TIME(strftime)%`. */
  | { readonly kind: "startTime"; readonly format: string | undefined }
  | { readonly kind: "operator"; readonly name: SimpleOperator; readonly maxLength: number | undefined };

export interface EnvoyFormatError {
  /** 0-based character offset in the template. */
  readonly offset: number;
  readonly message: string;
}

const NAME = /[A-Z0-9_]/;
const simpleSet: ReadonlySet<string> = new Set(SIMPLE_OPERATORS);
const headerSet: ReadonlySet<string> = new Set(HEADER_OPERATORS);
export const KNOWN_OPERATORS: readonly string[] = [...SIMPLE_OPERATORS, ...HEADER_OPERATORS, "START_TIME"];

export function parseEnvoyFormat(template: string): { parts: EnvoyFormatPart[]; errors: EnvoyFormatError[] } {
  const parts: EnvoyFormatPart[] = [];
  const errors: EnvoyFormatError[] = [];
  let literal = "";
  const flush = (): void => {
    if (literal !== "") parts.push({ kind: "literal", text: literal });
    literal = "";
  };
  let i = 0;
  while (i < template.length) {
    const ch = template[i]!;
    if (ch !== "%") {
      literal += ch;
      i++;
      continue;
    }
    if (template[i + 1] === "%") {
      literal += "%";
      i += 2;
      continue;
    }
    const start = i;
    let j = i + 1;
    while (j < template.length && NAME.test(template[j]!)) j++;
    const name = template.slice(i + 1, j);
    if (name === "") {
      errors.push({ offset: start, message: "a lone '%' does not start a command operator (write %% for a literal percent)" });
      literal += "%";
      i++;
      continue;
    }
    let arg: string | undefined;
    if (template[j] === "(") {
      // Arguments may contain '%' (START_TIME formats): they end at ')' followed by '%' or ':'.
      let k = j + 1;
      while (k < template.length && !(template[k] === ")" && (template[k + 1] === "%" || template[k + 1] === ":"))) k++;
      if (k >= template.length) {
        errors.push({ offset: start, message: `unterminated argument list of %${name}(...)%` });
        break;
      }
      arg = template.slice(j + 1, k);
      j = k + 1;
    }
    let maxLength: number | undefined;
    if (template[j] === ":") {
      let k = j + 1;
      while (k < template.length && /[0-9]/.test(template[k]!)) k++;
      if (k === j + 1) {
        errors.push({ offset: j, message: `expected a length after ':' in %${name}%` });
      } else {
        maxLength = Number(template.slice(j + 1, k));
        if (maxLength === 0) errors.push({ offset: j + 1, message: "truncation length must be at least 1" });
      }
      j = k;
    }
    if (template[j] !== "%") {
      errors.push({ offset: start, message: `command operator %${name}... is not closed with '%'` });
      literal += template.slice(start, j);
      i = j;
      continue;
    }
    i = j + 1;
    const part = toPart(name, arg, maxLength, start, errors);
    if (part !== undefined) {
      flush();
      parts.push(part);
    }
  }
  flush();
  return { parts, errors };
}

function toPart(name: string, arg: string | undefined, maxLength: number | undefined, offset: number, errors: EnvoyFormatError[]): EnvoyFormatPart | undefined {
  if (headerSet.has(name)) {
    if (arg === undefined || arg === "") {
      errors.push({ offset, message: `%${name}(HEADER)% needs a header name` });
      return undefined;
    }
    const [first, second, extra] = arg.split("?");
    if (extra !== undefined || first === "" || second === "") {
      errors.push({ offset, message: `%${name}(${arg})%: expected HEADER or HEADER?ALTERNATIVE` });
      return undefined;
    }
    const header = first!.toLowerCase();
    const fallback = second?.toLowerCase();
    if (name === "REQ" || name === "REQ_WITHOUT_QUERY") {
      return { kind: "requestHeader", header, fallback, withoutQuery: name === "REQ_WITHOUT_QUERY", maxLength };
    }
    if (name === "RESP") return { kind: "responseHeader", header, fallback, maxLength };
    return { kind: "responseTrailer", header, fallback, maxLength };
  }
  if (name === "START_TIME") {
    if (maxLength !== undefined) errors.push({ offset, message: "%START_TIME% cannot be truncated" });
    return { kind: "startTime", format: arg === "" ? undefined : arg };
  }
  if (simpleSet.has(name)) {
    if (arg !== undefined) {
      errors.push({ offset, message: `%${name}% takes no argument` });
      return undefined;
    }
    return { kind: "operator", name: name as SimpleOperator, maxLength };
  }
  errors.push({ offset, message: `unknown command operator %${name}%` });
  return undefined;
}
