// A fileSink's `jsonFormat` (Envoy's format dictionary) compiled once per plan into a render
// of the record's body as an object. As Envoy writes it: keys in sorted order; a value that is
// one command operator keeps its type (a number for %RESPONSE_CODE%, %DURATION%, byte counts
// and ports) and is null when it has no value, where a text template would print `-`
// (`%RESPONSE_FLAGS%` without flags stays `-`, as in Envoy, and so does a header whose value
// is `-`); a value with more than one part is text; lists and literals are kept.
import type { JsonFormatModel, JsonFormatValue } from "../../config/model.ts";
import { NUMBER_OPERATORS, parseEnvoyFormat } from "../../format/envoy-operators.ts";
import { compileHeaderValue, compileTemplateParts, joinRenders, type HeaderIndex } from "./envoy-render.ts";
import type { RequestFacts } from "./facts.ts";

export type JsonBodyValue = string | number | boolean | null | JsonBodyValue[] | JsonBody;
export type JsonBody = { [key: string]: JsonBodyValue };
export type JsonBodyRender = (f: RequestFacts) => JsonBody;

type ValueRender = (f: RequestFacts) => JsonBodyValue;

export function compileJsonBody(model: JsonFormatModel, index: HeaderIndex, allowSensitive: ReadonlySet<string>): JsonBodyRender {
  const entries = Object.keys(model)
    .sort()
    .map((key): [string, ValueRender] => [key, compileValue(model[key]!, index, allowSensitive)]);
  return (f) => {
    const out: JsonBody = {};
    // A key such as `__proto__` is a key here, not the object's prototype.
    for (let i = 0; i < entries.length; i++) Object.defineProperty(out, entries[i]![0], { value: entries[i]![1](f), enumerable: true, writable: true, configurable: true });
    return out;
  };
}

function compileValue(value: JsonFormatValue, index: HeaderIndex, allowSensitive: ReadonlySet<string>): ValueRender {
  if (value === null || typeof value === "number" || typeof value === "boolean") return () => value;
  if (Array.isArray(value)) {
    const items = value.map((item) => compileValue(item, index, allowSensitive));
    return (f) => items.map((item) => item(f));
  }
  if (typeof value !== "string") return compileJsonBody(value as JsonFormatModel, index, allowSensitive);
  const parts = parseEnvoyFormat(value).parts;
  const only = parts.length === 1 ? parts[0]! : undefined;
  if (only?.kind === "requestHeader" || only?.kind === "responseHeader" || only?.kind === "responseTrailer") {
    const header = compileHeaderValue(only, index, allowSensitive);
    return (f) => header(f) ?? null;
  }
  const text = joinRenders(compileTemplateParts(parts, index, allowSensitive));
  if (only?.kind !== "operator") return text;
  // No flags is Envoy's `-` here too: a value, not an absence.
  if (only.name === "RESPONSE_FLAGS") return text;
  if (NUMBER_OPERATORS.has(only.name)) {
    return (f) => {
      const rendered = text(f);
      if (rendered === "-") return null;
      const n = Number(rendered);
      return rendered !== "" && Number.isFinite(n) ? n : rendered;
    };
  }
  return (f) => {
    const rendered = text(f);
    return rendered === "-" ? null : rendered;
  };
}
