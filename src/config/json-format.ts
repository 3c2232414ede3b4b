// kgateway's fileSink `jsonFormat` (Envoy's format dictionary) checked at load: every string
// value is a command-operator template, checked as `stringFormat` is, at its own field; an
// object is a nested dictionary and a list a list of such values; numbers, booleans and null
// are written as they are. A number operator (%BYTES_SENT%) takes no `:N`, as in Envoy.
import type { JsonFormatModel, JsonFormatValue } from "./model.ts";
import { NUMBER_OPERATORS, parseEnvoyFormat } from "../format/envoy-operators.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";

/** Deeper than any log schema needs; bounds the work a pasted document can ask for. */
export const MAX_JSON_FORMAT_DEPTH = 8;

export function checkJsonFormat(p: Resource, reporter: Reporter, value: Record<string, unknown>, at: Segments): JsonFormatModel | undefined {
  if (Object.keys(value).length === 0) {
    reporter.error(p, at, "an empty format dictionary renders nothing", "name at least one key, e.g. status: '%RESPONSE_CODE%'");
    return undefined;
  }
  return checkValue(p, reporter, value, at, 1) as JsonFormatModel | undefined;
}

function checkValue(p: Resource, reporter: Reporter, value: unknown, at: Segments, depth: number): JsonFormatValue | undefined {
  if (typeof value === "string") return checkTemplate(p, reporter, value, at) ? value : undefined;
  if (typeof value === "number" || typeof value === "boolean" || value === null) return value;
  if (depth > MAX_JSON_FORMAT_DEPTH) {
    reporter.error(p, at, `a format dictionary nests ${MAX_JSON_FORMAT_DEPTH} levels deep at most`, "flatten the keys");
    return undefined;
  }
  let ok = true;
  if (Array.isArray(value)) {
    const items = value.map((item, i) => {
      const checked = checkValue(p, reporter, item, [...at, i], depth + 1);
      if (checked === undefined) ok = false;
      return checked;
    });
    return ok ? (items as JsonFormatValue[]) : undefined;
  }
  const out: Record<string, JsonFormatValue> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const checked = checkValue(p, reporter, item, [...at, key], depth + 1);
    if (checked === undefined) ok = false;
    // A key such as `__proto__` is a key here, not the object's prototype.
    else Object.defineProperty(out, key, { value: checked, enumerable: true, writable: true, configurable: true });
  }
  return ok ? out : undefined;
}

/** Each error of a parsed command-operator template, at its character in the field. */
export function reportTemplateErrors(p: Resource, reporter: Reporter, parsed: ReturnType<typeof parseEnvoyFormat>, at: Segments): void {
  for (const e of parsed.errors) reporter.errorInString(p, at, e.offset, e.message, "see docs/configuration.md for the command operators Tollgate renders");
}

function checkTemplate(p: Resource, reporter: Reporter, template: string, at: Segments): boolean {
  const parsed = parseEnvoyFormat(template);
  reportTemplateErrors(p, reporter, parsed, at);
  const truncatedNumber = parsed.parts.find((part) => part.kind === "operator" && part.maxLength !== undefined && NUMBER_OPERATORS.has(part.name));
  if (truncatedNumber?.kind === "operator") {
    reporter.error(p, at, `%${truncatedNumber.name}% is a number and takes no :N length`, `write %${truncatedNumber.name}%`);
    return false;
  }
  return parsed.errors.length === 0;
}
