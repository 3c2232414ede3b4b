// Context propagation without a context manager: extract() reads the incoming headers once
// into a plain IncomingContext, inject() writes the outgoing ones. Formats: W3C Trace
// Context Level 2 (traceparent, tracestate), W3C Baggage (passed through unchanged), B3
// single header and B3 multi header. OTEL_PROPAGATORS picks and orders them; as in the
// OTel composite propagator, a later propagator's valid context replaces an earlier one's.
import type { IncomingHttpHeaders } from "node:http";
import type { OutgoingHeaders } from "../hooks.ts";

export type PropagatorName = "tracecontext" | "baggage" | "b3" | "b3multi";

export interface IncomingContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
  /** W3C Level 2 random flag (trace id's right-most 7 bytes are random). */
  readonly random: boolean;
  /** Valid tracestate to forward unchanged, or undefined. */
  readonly traceState: string | undefined;
}

export interface Propagation {
  readonly names: readonly PropagatorName[];
  readonly tracecontext: boolean;
  readonly baggage: boolean;
  readonly b3: boolean;
  readonly b3multi: boolean;
  /** Header names written by inject; cleared first so no stale incoming value survives. */
  readonly ownedHeaders: readonly string[];
}

export function createPropagation(names: readonly PropagatorName[]): Propagation {
  const owned: string[] = [];
  if (names.includes("tracecontext")) owned.push("traceparent", "tracestate");
  if (names.includes("baggage")) owned.push("baggage");
  if (names.includes("b3")) owned.push("b3");
  if (names.includes("b3multi")) owned.push("x-b3-traceid", "x-b3-spanid", "x-b3-sampled", "x-b3-flags", "x-b3-parentspanid");
  return {
    names,
    tracecontext: names.includes("tracecontext"),
    baggage: names.includes("baggage"),
    b3: names.includes("b3"),
    b3multi: names.includes("b3multi"),
    ownedHeaders: owned,
  };
}

/** OTEL_PROPAGATORS; unknown names are reported and skipped. Default: tracecontext,baggage. */
export function parsePropagators(list: readonly string[] | undefined): { names: PropagatorName[]; problems: string[] } {
  if (list === undefined || list.length === 0) return { names: ["tracecontext", "baggage"], problems: [] };
  const names: PropagatorName[] = [];
  const problems: string[] = [];
  for (const raw of list) {
    const n = raw.toLowerCase();
    if (n === "none") return { names: [], problems };
    if (n === "tracecontext" || n === "baggage" || n === "b3" || n === "b3multi") {
      if (!names.includes(n)) names.push(n);
    } else problems.push(`OTEL_PROPAGATORS: unsupported propagator '${raw}' ignored (supported: tracecontext, baggage, b3, b3multi, none)`);
  }
  return { names, problems };
}

export function extract(p: Propagation, headers: IncomingHttpHeaders): IncomingContext | undefined {
  let ctx: IncomingContext | undefined;
  for (const name of p.names) {
    let found: IncomingContext | undefined;
    if (name === "tracecontext") {
      const tp = headers.traceparent;
      if (tp !== undefined) found = parseTraceparent(typeof tp === "string" ? tp : tp.join(","), headers.tracestate);
    } else if (name === "b3") {
      const b3 = headers.b3;
      if (b3 !== undefined) found = parseB3Single(typeof b3 === "string" ? b3 : b3.join(","));
    } else if (name === "b3multi") {
      if (headers["x-b3-traceid"] !== undefined) found = parseB3Multi(headers);
    }
    if (found !== undefined) ctx = found;
  }
  return ctx;
}

/** Writes the context of the span the upstream should see as its parent. */
export function inject(
  p: Propagation,
  headers: OutgoingHeaders,
  traceId: string,
  spanId: string,
  sampled: boolean,
  random: boolean,
  traceState: string | undefined,
  baggage: string | undefined,
): void {
  for (let i = 0; i < p.ownedHeaders.length; i++) delete headers[p.ownedHeaders[i]!];
  if (p.tracecontext) {
    headers.traceparent = `00-${traceId}-${spanId}-${sampled ? (random ? "03" : "01") : random ? "02" : "00"}`;
    if (traceState !== undefined) headers.tracestate = traceState;
  }
  if (p.baggage && baggage !== undefined) headers.baggage = baggage;
  if (p.b3) headers.b3 = `${traceId}-${spanId}-${sampled ? "1" : "0"}`;
  if (p.b3multi) {
    headers["x-b3-traceid"] = traceId;
    headers["x-b3-spanid"] = spanId;
    headers["x-b3-sampled"] = sampled ? "1" : "0";
  }
}

/** The raw incoming propagation headers, for routes with tracing disabled: forwarded unchanged. */
export function copyIncoming(p: Propagation, incoming: IncomingHttpHeaders, outgoing: OutgoingHeaders): void {
  for (let i = 0; i < p.ownedHeaders.length; i++) {
    const name = p.ownedHeaders[i]!;
    const v = incoming[name];
    if (v !== undefined) outgoing[name] = v;
  }
}

// ------------------------------------------------------------------ W3C Trace Context

const ZERO_TRACE = "00000000000000000000000000000000";
const ZERO_SPAN = "0000000000000000";

function isLowerHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/**
 * traceparent per W3C Trace Context Level 2: version 00 must be exactly 55 characters;
 * a higher version is parsed by its 00-compatible prefix and may carry more fields after
 * a `-`; version ff, non-lowercase hex, and all-zero ids are invalid. Invalid means a new
 * root, and tracestate is then ignored.
 */
export function parseTraceparent(header: string, tracestate: string | string[] | undefined): IncomingContext | undefined {
  const h = header.trim();
  if (h.length < 55) return undefined;
  if (!isLowerHex(h, 0, 2) || h.charCodeAt(2) !== 45 /* - */) return undefined;
  const version = h.slice(0, 2);
  if (version === "ff") return undefined;
  if (version === "00" ? h.length !== 55 : h.length > 55 && h.charCodeAt(55) !== 45) return undefined;
  if (h.charCodeAt(35) !== 45 || h.charCodeAt(52) !== 45) return undefined;
  if (!isLowerHex(h, 3, 35) || !isLowerHex(h, 36, 52) || !isLowerHex(h, 53, 55)) return undefined;
  const traceId = h.slice(3, 35);
  const spanId = h.slice(36, 52);
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  const flags = parseInt(h.slice(53, 55), 16);
  return {
    traceId,
    spanId,
    sampled: (flags & 1) === 1,
    random: (flags & 2) === 2,
    traceState: tracestate === undefined ? undefined : validTraceState(typeof tracestate === "string" ? tracestate : tracestate.join(",")),
  };
}

const TS_MAX_MEMBERS = 32;
/** Level 2 keys: a lower-case letter or digit, then up to 255 of `a-z 0-9 _ - * / @` (Level 1's `tenant@system` split is gone). */
const TS_KEY = /^[a-z0-9][_0-9a-z\-*/@]{0,255}$/;
const TS_VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * tracestate is forwarded byte for byte when valid. Invalid (bad member syntax, duplicate
 * keys, more than 32 members) means it is not propagated at all: the spec forbids passing
 * on a header we could not parse, and truncating would rewrite other vendors' entries.
 */
export function validTraceState(raw: string): string | undefined {
  const members = raw.split(",");
  const keys = new Set<string>();
  let count = 0;
  for (const m of members) {
    const member = m.trim();
    if (member === "") continue;
    const eq = member.indexOf("=");
    if (eq <= 0) return undefined;
    const key = member.slice(0, eq);
    if (!TS_KEY.test(key) || !TS_VALUE.test(member.slice(eq + 1)) || keys.has(key)) return undefined;
    keys.add(key);
    if (++count > TS_MAX_MEMBERS) return undefined;
  }
  return count === 0 ? undefined : raw;
}

// ------------------------------------------------------------------ B3

function b3TraceId(id: string): string | undefined {
  const lower = id.toLowerCase();
  if ((lower.length !== 16 && lower.length !== 32) || !isLowerHex(lower, 0, lower.length)) return undefined;
  const padded = lower.length === 16 ? "0000000000000000" + lower : lower;
  return padded === ZERO_TRACE ? undefined : padded;
}

function b3SpanId(id: string): string | undefined {
  const lower = id.toLowerCase();
  if (lower.length !== 16 || !isLowerHex(lower, 0, 16) || lower === ZERO_SPAN) return undefined;
  return lower;
}

/** `b3: {traceId}-{spanId}[-{1|0|d}[-{parentSpanId}]]`; a bare sampling state carries no context. */
export function parseB3Single(header: string): IncomingContext | undefined {
  const parts = header.trim().split("-");
  if (parts.length < 2 || parts.length > 4) return undefined;
  const traceId = b3TraceId(parts[0]!);
  const spanId = b3SpanId(parts[1]!);
  if (traceId === undefined || spanId === undefined) return undefined;
  const state = parts[2];
  if (state !== undefined && state !== "0" && state !== "1" && state !== "d") return undefined;
  return { traceId, spanId, sampled: state === "1" || state === "d", random: false, traceState: undefined };
}

function first(v: string | string[] | undefined): string | undefined {
  return typeof v === "string" ? v : v?.[0];
}

export function parseB3Multi(headers: IncomingHttpHeaders): IncomingContext | undefined {
  const traceId = b3TraceId(first(headers["x-b3-traceid"])?.trim() ?? "");
  const spanId = b3SpanId(first(headers["x-b3-spanid"])?.trim() ?? "");
  if (traceId === undefined || spanId === undefined) return undefined;
  const sampledRaw = first(headers["x-b3-sampled"])?.trim().toLowerCase();
  const debug = first(headers["x-b3-flags"])?.trim() === "1";
  const sampled = debug || sampledRaw === "1" || sampledRaw === "true";
  return { traceId, spanId, sampled, random: false, traceState: undefined };
}
