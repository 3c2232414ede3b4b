// A fileSink's `jsonFormat` (Envoy's format dictionary) compiled once per plan into a render
// of the record's body as an object. As Envoy writes it: a value that is one command operator
// keeps its type (a number for %RESPONSE_CODE%, %DURATION%, byte counts and ports) and is null
// when absent, where a text template would print `-` (`%RESPONSE_FLAGS%` without flags stays
// `-`, as in Envoy); a value with more than one part is
// text; literals are written as they are.
import type { JsonFormatModel } from "../../config/model.ts";
import { parseEnvoyFormat, type SimpleOperator } from "../../format/envoy-operators.ts";
import { compileTemplateParts, joinRenders, type HeaderIndex, type Render } from "./envoy-render.ts";
import type { RequestFacts } from "./facts.ts";

export type JsonBody = { [key: string]: string | number | boolean | null | JsonBody };
export type JsonBodyRender = (f: RequestFacts) => JsonBody;

const NUMERIC_OPERATORS: ReadonlySet<SimpleOperator> = new Set([
  "RESPONSE_CODE",
  "DURATION",
  "REQUEST_DURATION",
  "RESPONSE_DURATION",
  "BYTES_RECEIVED",
  "BYTES_SENT",
  "UPSTREAM_REQUEST_ATTEMPT_COUNT",
  "DOWNSTREAM_REMOTE_PORT",
  "DOWNSTREAM_DIRECT_REMOTE_PORT",
  "DOWNSTREAM_LOCAL_PORT",
  "CONNECTION_ID",
]);

type ValueRender = (f: RequestFacts) => string | number | boolean | null | JsonBody;

export function compileJsonBody(model: JsonFormatModel, index: HeaderIndex, allowSensitive: ReadonlySet<string>): JsonBodyRender {
  const entries: [string, ValueRender][] = Object.entries(model).map(([key, value]) => [key, compileValue(value, index, allowSensitive)]);
  return (f) => {
    const out: JsonBody = {};
    for (let i = 0; i < entries.length; i++) out[entries[i]![0]] = entries[i]![1](f);
    return out;
  };
}

function compileValue(value: JsonFormatModel[string], index: HeaderIndex, allowSensitive: ReadonlySet<string>): ValueRender {
  if (value === null || typeof value === "number" || typeof value === "boolean") return () => value;
  if (typeof value !== "string") return compileJsonBody(value, index, allowSensitive);
  const parts = parseEnvoyFormat(value).parts;
  const renders = compileTemplateParts(parts, index, allowSensitive);
  const only = parts.length === 1 ? parts[0]! : undefined;
  if (only === undefined || only.kind === "literal" || only.kind === "startTime") {
    const text: Render = joinRenders(renders);
    return (f) => text(f);
  }
  const render = renders[0]!;
  // No flags is Envoy's `-` here too: a value, not an absence.
  if (only.kind === "operator" && only.name === "RESPONSE_FLAGS") return render;
  if (only.kind === "operator" && NUMERIC_OPERATORS.has(only.name)) {
    return (f) => {
      const text = render(f);
      if (text === "-") return null;
      const n = Number(text);
      return text !== "" && Number.isFinite(n) ? n : text;
    };
  }
  return (f) => {
    const text = render(f);
    return text === "-" ? null : text;
  };
}
