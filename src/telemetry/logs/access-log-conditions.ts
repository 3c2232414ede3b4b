// kgateway's access log filters (Envoy's AccessLogFilter) as predicates over a finished
// request, compiled once per plan. They read the log facts and the exchange directly; only a
// CEL condition needs the CEL activation, built on first use.
import { type AccessLogActivation, compileAccessLogFilter } from "../../cel/environment.ts";
import type { AccessLogCondition } from "../../config/model.ts";
import type { Exchange } from "../../proxy/exchange.ts";
import { fullMatchRegExp } from "../../router/regex.ts";
import { type HeaderBag, responseHeadersOf } from "../response-headers.ts";
import type { RequestFacts } from "./facts.ts";
import { NotBoolResultError } from "./filter-errors.ts";
import { requestHeaderAsLogged } from "./logged-request-headers.ts";
import { fractionHolds, independentDraw, requestIdDraw } from "./runtime-sampling.ts";

/** What a condition reads: the facts, the exchange and its forwarded headers, the CEL activation (built on demand), and where a CEL failure is reported. */
export interface ConditionInput {
  readonly facts: RequestFacts;
  readonly exchange: Exchange;
  /** forwardedViewOf(exchange): the request headers as the gateway forwarded them. */
  readonly forwarded: HeaderBag;
  activation(): AccessLogActivation;
  /** A CEL condition threw or gave a non-bool: it does not hold, and the failure is counted. */
  celFailed(expression: string, error: unknown): void;
}

export type AccessLogPredicate = (input: ConditionInput) => boolean;

export function compileCondition(condition: AccessLogCondition): AccessLogPredicate {
  switch (condition.kind) {
    case "statusCode":
      return comparing(condition.op, condition.value, (input) => input.facts.status);
    case "duration":
      return comparing(condition.op, condition.value, (input) => Math.floor(input.facts.durationMs));
    case "notHealthCheck":
      // As Envoy, a health check is a request the listener's health check answered (HTTPListenerPolicy healthCheck).
      return (input) => !input.exchange.healthCheck;
    case "traceable":
      // Envoy's TraceableRequestFilter holds for force-traced requests alone (x-envoy-force-trace
      // on an internal request); Tollgate force-traces none (the config warns).
      return () => false;
    case "header":
      return headerPredicate(condition.name, condition.type, condition.value);
    case "responseFlags": {
      const wanted = new Set(condition.flags);
      return (input) => input.facts.responseFlags !== "" && input.facts.responseFlags.split(",").some((flag) => wanted.has(flag));
    }
    case "grpcStatus": {
      const statuses = new Set(condition.statuses);
      const exclude = condition.exclude;
      return (input) => statuses.has(grpcStatusOf(input)) !== exclude;
    }
    case "cel":
      return celPredicate(condition.expression);
    case "runtime": {
      const { numerator, denominator, independent } = condition;
      return (input) => fractionHolds((independent ? undefined : requestIdDraw(requestIdOf(input))) ?? independentDraw(), numerator, denominator);
    }
    case "and": {
      const parts = condition.conditions.map(compileCondition);
      return (input) => parts.every((part) => part(input));
    }
    case "or": {
      const parts = condition.conditions.map(compileCondition);
      return (input) => parts.some((part) => part(input));
    }
  }
}

function comparing(op: "EQ" | "GE" | "LE", value: number, read: (input: ConditionInput) => number): AccessLogPredicate {
  if (op === "EQ") return (input) => read(input) === value;
  if (op === "GE") return (input) => read(input) >= value;
  return (input) => read(input) <= value;
}

/** Envoy's HeaderMatcher on the request headers as rewritten (what %REQ()% shows): present, and the value equal or fully matched. */
function headerPredicate(name: string, type: "Exact" | "RegularExpression", value: string): AccessLogPredicate {
  const read = (input: ConditionInput): string | undefined => requestHeaderAsLogged(input.exchange, input.forwarded, name);
  if (type === "Exact") return (input) => read(input) === value;
  const pattern = fullMatchRegExp(value);
  return (input) => {
    const v = read(input);
    return v !== undefined && pattern.test(v);
  };
}

function celPredicate(expression: string): AccessLogPredicate {
  const compiled = compileAccessLogFilter(expression);
  // The config stage refused expressions that do not compile; one that still fails keeps nothing.
  if (!compiled.ok) return () => false;
  const program = compiled.program;
  return (input) => {
    let result: unknown;
    try {
      result = program(input.activation());
    } catch (error) {
      input.celFailed(expression, error);
      return false;
    }
    if (typeof result === "boolean") return result;
    input.celFailed(expression, new NotBoolResultError(result));
    return false;
  };
}

/**
 * The response's gRPC status as Envoy's filter reads it: its `grpc-status` header, else the
 * HTTP status mapped to one (Envoy's httpToGrpcStatus). Trailers are not read: the gateway
 * carries HTTP/1.1, where a gRPC status comes in the head (trailers-only answers).
 */
function grpcStatusOf(input: ConditionInput): number {
  const header = responseHeadersOf(input.exchange)["grpc-status"];
  const text = Array.isArray(header) ? header[0] : header;
  if (typeof text === "number") return text;
  // Present but not a status: Envoy's InvalidCode, which no listed status matches.
  if (typeof text === "string") return /^\d{1,9}$/.test(text) ? Number(text) : -1;
  switch (input.facts.status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

/** The request's X-Request-Id as it was forwarded (one value). */
function requestIdOf(input: ConditionInput): string | undefined {
  const value = input.forwarded["x-request-id"];
  return typeof value === "string" ? value : undefined;
}
