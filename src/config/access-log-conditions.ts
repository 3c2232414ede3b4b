// kgateway's access log `filter` (Envoy's AccessLogFilter): a status code or duration
// comparison, a request header match, response flags, gRPC statuses, traceable, not a health
// check, a CEL expression, a sampled fraction (runtimeFilter), or an and/or of those. Each filter object sets exactly one of them.
import { compileAccessLogFilter } from "../cel/environment.ts";
import { ENVOY_RESPONSE_FLAGS } from "../format/envoy-response-flags.ts";
import { checkMatchesPatterns } from "./cel-patterns.ts";
import { GRPC_STATUS_NAMES } from "./grpc-status-names.ts";
import { isHeaderName } from "./header-names.ts";
import type { AccessLogCondition } from "./model.ts";
import { regexProblem } from "./regex-check.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";

/** Envoy's FractionalPercent denominators. */
const DENOMINATORS = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 } as const;

const SINGLE_CONDITIONS = ["statusCodeFilter", "durationFilter", "notHealthCheckFilter", "traceableFilter", "headerFilter", "responseFlagFilter", "grpcStatusFilter", "celFilter", "runtimeFilter"] as const;



/** The condition an access log `filter` sets, or undefined when it is broken (reported). */
export function accessLogCondition(p: Resource, filter: Record<string, unknown>, at: Segments, reporter: Reporter): AccessLogCondition | undefined {
  const set = Object.keys(filter).filter((k) => isSet(filter[k]));
  if (set.length !== 1) return exactlyOne(p, set, at, [...SINGLE_CONDITIONS, "andFilter", "orFilter"], reporter);
  const kind = set[0]!;
  if (kind === "andFilter" || kind === "orFilter") {
    const items = filter[kind] as Record<string, unknown>[];
    const conditions = items.map((item, i) => single(p, item, [...at, kind, i], reporter));
    if (conditions.some((c) => c === undefined)) return undefined;
    return { kind: kind === "andFilter" ? "and" : "or", conditions: conditions as AccessLogCondition[] };
  }
  return single(p, filter, at, reporter);
}

/** One of the single conditions (what andFilter and orFilter list: no nesting, as in kgateway's API). */
function single(p: Resource, filter: Record<string, unknown>, at: Segments, reporter: Reporter): AccessLogCondition | undefined {
  const set = Object.keys(filter).filter((k) => isSet(filter[k]));
  if (set.length !== 1) return exactlyOne(p, set, at, SINGLE_CONDITIONS, reporter);
  const kind = set[0]!;
  const value = filter[kind] as Record<string, any>;
  const fat = [...at, kind];
  switch (kind) {
    case "statusCodeFilter":
    case "durationFilter":
      return { kind: kind === "statusCodeFilter" ? "statusCode" : "duration", op: value["op"], value: value["value"] ?? 0 };
    case "notHealthCheckFilter":
      return { kind: "notHealthCheck" };
    case "traceableFilter":
      reporter.warn(p, fat, "traceableFilter keeps only force-traced requests (Envoy's x-envoy-force-trace), and Tollgate force-traces none: this access log keeps nothing", "drop the filter, or the access log");
      return { kind: "traceable" };
    case "headerFilter":
      return headerCondition(p, value["header"] as Record<string, string>, [...fat, "header"], reporter);
    case "responseFlagFilter": {
      const flags = value["flags"] as string[];
      const unknown = flags.findIndex((f) => !ENVOY_RESPONSE_FLAGS.includes(f));
      if (unknown >= 0) {
        reporter.error(p, [...fat, "flags", unknown], `"${flags[unknown]}" is not an Envoy response flag`, `one of ${ENVOY_RESPONSE_FLAGS.join(", ")}`);
        return undefined;
      }
      return { kind: "responseFlags", flags };
    }
    case "runtimeFilter": {
      const percent = value["percentSampled"] as { numerator: number; denominator?: keyof typeof DENOMINATORS } | undefined;
      if (percent === undefined) {
        // Envoy's default percent_sampled is 0%, and no runtime here ever sets the key.
        reporter.warn(p, fat, "a runtimeFilter without percentSampled keeps nothing: Tollgate has no runtime layer to set its runtimeKey, and Envoy's default is 0%", "set percentSampled, e.g. {numerator: 10} to keep 10% of the records");
      }
      return { kind: "runtime", numerator: percent?.numerator ?? 0, denominator: DENOMINATORS[percent?.denominator ?? "HUNDRED"], independent: value["useIndependentRandomness"] === true };
    }
    case "grpcStatusFilter":
      return { kind: "grpcStatus", statuses: ((value["statuses"] ?? []) as string[]).map((s) => GRPC_STATUS_NAMES.indexOf(s as (typeof GRPC_STATUS_NAMES)[number])), exclude: value["exclude"] === true };
    default: {
      const match = value["match"] as string;
      const compiled = compileAccessLogFilter(match);
      if (!compiled.ok) {
        reporter.errorInString(p, [...fat, "match"], compiled.offset, `invalid CEL filter: ${compiled.message}`, "variables: request, response, connection, upstream, route (see docs/configuration.md)");
        return undefined;
      }
      if (!checkMatchesPatterns(p, reporter, [...fat, "match"], compiled.program, "warning")) return undefined;
      return { kind: "cel", expression: match, source: reporter.source(p, [...fat, "match"]) };
    }
  }
}

function headerCondition(p: Resource, header: Record<string, string>, at: Segments, reporter: Reporter): AccessLogCondition | undefined {
  const name = header["name"]!;
  if (!isHeaderName(name)) {
    reporter.error(p, [...at, "name"], `"${name}" is not a header name`, "letters, digits and !#$%&'*+-.^_`|~");
    return undefined;
  }
  const type = (header["type"] ?? "Exact") as "Exact" | "RegularExpression";
  if (type === "RegularExpression") {
    const problem = regexProblem(header["value"]!);
    if (problem !== undefined) {
      reporter.report(problem.severity, p, [...at, "value"], problem.message, problem.hint);
      if (problem.severity === "error") return undefined;
    }
  }
  return { kind: "header", name: name.toLowerCase(), type, value: header["value"]! };
}

/** kgateway's boolean conditions are pointers, set when present: `notHealthCheckFilter: false` is the filter too. */
function isSet(value: unknown): boolean {
  return value !== undefined;
}

function exactlyOne(p: Resource, set: readonly string[], at: Segments, choices: readonly string[], reporter: Reporter): undefined {
  if (set.length === 0) reporter.error(p, at, "an access log filter needs one condition", `one of ${choices.join(", ")}`);
  else reporter.error(p, [...at, set[1]!], `an access log filter sets one condition; this one sets ${set.join(" and ")}`, "combine conditions with andFilter or orFilter");
  return undefined;
}
