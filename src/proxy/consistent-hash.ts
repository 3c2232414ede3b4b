// A rule's TrafficPolicy `consistentHash`: the key a request's endpoint is picked by on the
// backend's hash ring, built as Envoy builds it from a route's hash policies. Each part that
// finds its value (a header, a cookie, a query parameter, the client's address) adds its hash;
// a part that finds none adds nothing; a `terminal` part with a key so far ends the list. A
// request none of whose parts finds a value goes round-robin (Envoy picks a random host then).
import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import type { HashPolicyModel } from "../config/model.ts";
import type { Exchange } from "./exchange.ts";
import type { OutgoingHeaders } from "../telemetry/hooks.ts";
import { clientIpOf } from "./client-ip.ts";
import { canonicalIpv6 } from "../config/address-key.ts";
import { combineHashes, hashString } from "./hash-ring.ts";
import { RegexRewrite } from "./regex-rewrite.ts";
import { cookieValue, rawQueryValue } from "./request-values.ts";

/** The hash to pick by (undefined: none), and the cookies made for it that the answer sets. */
export interface HashKey {
  readonly hash: number | undefined;
  readonly setCookies: string[] | undefined;
}

type Part = { readonly terminal: boolean; value(exchange: Exchange, made: string[]): string | undefined };

export class ConsistentHashPolicy {
  /** `namespace/name` of each TrafficPolicy the parts come from, preferred first. */
  readonly policies: readonly string[];
  readonly #parts: readonly Part[];

  constructor(policies: readonly string[], hashPolicies: readonly HashPolicyModel[]) {
    this.policies = policies;
    this.#parts = hashPolicies.map(compilePart);
  }

  keyOf(exchange: Exchange): HashKey {
    let hash: number | undefined;
    const made: string[] = [];
    for (const part of this.#parts) {
      const value = part.value(exchange, made);
      if (value !== undefined) hash = hash === undefined ? hashString(value) : combineHashes(hash, hashString(value));
      if (part.terminal && hash !== undefined) break;
    }
    return { hash, setCookies: made.length === 0 ? undefined : made };
  }
}

function compilePart(model: HashPolicyModel): Part {
  const terminal = model.terminal;
  switch (model.kind) {
    case "header": {
      const read = headerReader(model.name);
      const rewrite = model.regexRewrite === undefined ? undefined : new RegexRewrite(model.regexRewrite.pattern, model.regexRewrite.substitution, model.regexRewrite.source);
      return { terminal, value: (exchange) => headerKey(read(exchange), rewrite) };
    }
    case "cookie": {
      const { name, ttlSeconds } = model;
      return {
        terminal,
        value: (exchange, made) => {
          const sent = cookieValue(exchange.req.headers.cookie, name);
          // An empty value is no cookie, as Envoy reads it.
          if (sent !== undefined && sent !== "") return sent;
          if (ttlSeconds === undefined) return undefined;
          // As Envoy: no cookie but a lifetime, so the gateway makes one; this request and
          // every later one that sends it back hash the same value.
          const value = madeCookieValue(exchange.req.socket);
          made.push(setCookieValue(model, value));
          return value;
        },
      };
    }
    case "queryParameter": {
      const name = model.name;
      return { terminal, value: (exchange) => rawQueryValue(exchange.query, name) };
    }
    case "sourceIp":
      return {
        terminal,
        value: (exchange) => {
          const ip = clientIpOf(exchange);
          // A forwarded IPv6 address may be spelt many ways; the key is its canonical text, as Envoy's.
          return ip.family === undefined ? undefined : ip.family === "ipv6" ? canonicalIpv6(ip.address) : ip.address;
        },
      };
  }
}

/** Every value of the header (several lines kept apart); `:authority`, `:path` and `:method` read the request line. */
function headerReader(name: string): (exchange: Exchange) => readonly string[] | undefined {
  switch (name) {
    // An absolute-form target gives the authority and path, as Envoy's pseudo-headers hold them.
    case ":authority":
      return (exchange) => single(exchange.hostHeader);
    case ":path":
      return (exchange) => [exchange.query === "" ? exchange.path : `${exchange.path}?${exchange.query}`];
    case ":method":
      return (exchange) => single(exchange.req.method);
    default:
      return (exchange) => (exchange.req.headers[name] === undefined ? undefined : exchange.req.headersDistinct[name]);
  }
}

function single(value: string | undefined): readonly string[] | undefined {
  return value === undefined ? undefined : [value];
}

/** Several values are rewritten one by one and sorted, as Envoy hashes them: their order does not change the key. */
function headerKey(values: readonly string[] | undefined, rewrite: RegexRewrite | undefined): string | undefined {
  if (values === undefined || values.length === 0) return undefined;
  if (values.length === 1) return rewrite === undefined ? values[0] : rewrite.apply(values[0]!);
  const each = rewrite === undefined ? [...values] : values.map((v) => rewrite.apply(v));
  return each.sort().join("\n");
}

/**
 * One value per connection, so the requests a client sends on it before it has the cookie
 * share their endpoint (Envoy derives the value from the connection's addresses for that reason).
 */
const madeOnConnection = new WeakMap<Socket, string>();

function madeCookieValue(socket: Socket): string {
  let value = madeOnConnection.get(socket);
  if (value === undefined) {
    value = randomBytes(8).toString("hex");
    madeOnConnection.set(socket, value);
  }
  return value;
}

/** The Set-Cookie value Envoy writes for a cookie it made: quoted, then Max-Age (not for a session cookie), Path, the attributes, HttpOnly. */
export function setCookieValue(model: Extract<HashPolicyModel, { kind: "cookie" }>, value: string): string {
  let text = `${model.name}="${value}"`;
  if (model.ttlSeconds !== undefined && model.ttlSeconds > 0) text += `; Max-Age=${model.ttlSeconds}`;
  if (model.path !== undefined) text += `; Path=${model.path}`;
  for (const attribute of model.attributes) text += attribute.value === "" ? `; ${attribute.name}` : `; ${attribute.name}=${attribute.value}`;
  return `${text}; HttpOnly`;
}

/** The cookies after any Set-Cookie the answer already has. */
export function addSetCookies(headers: OutgoingHeaders, cookies: readonly string[]): void {
  const present = headers["set-cookie"];
  headers["set-cookie"] = present === undefined ? [...cookies] : [...(Array.isArray(present) ? present : [String(present)]), ...cookies];
}
