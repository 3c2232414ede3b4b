// kgateway's fileSink `jsonFormat` (Envoy's format dictionary) checked at load: every string
// value is a command-operator template, checked as `stringFormat` is, at its own field; a
// nested object is a nested dictionary; numbers, booleans and null are written as they are.
// Envoy's dictionaries hold no lists, and neither does this one.
import type { JsonFormatModel } from "./model.ts";
import { parseEnvoyFormat } from "../format/envoy-operators.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";

const MAX_DEPTH = 8;

export function checkJsonFormat(p: Resource, reporter: Reporter, value: Record<string, unknown>, at: Segments, depth = 1): JsonFormatModel | undefined {
  const out: Record<string, JsonFormatModel[string]> = {};
  let ok = true;
  if (Object.keys(value).length === 0) {
    reporter.error(p, at, "an empty format dictionary renders nothing", "name at least one key, e.g. status: '%RESPONSE_CODE%'");
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    const here = [...at, key];
    if (typeof item === "string") {
      for (const e of parseEnvoyFormat(item).errors) {
        reporter.errorInString(p, here, e.offset, e.message, "see docs/configuration.md for the command operators Tollgate renders");
        ok = false;
      }
      out[key] = item;
    } else if (typeof item === "number" || typeof item === "boolean" || item === null) {
      out[key] = item;
    } else if (Array.isArray(item)) {
      reporter.error(p, here, "a format dictionary holds no lists (neither does Envoy's)", "write one key per value, or a nested dictionary");
      ok = false;
    } else if (depth >= MAX_DEPTH) {
      reporter.error(p, here, `format dictionaries nest ${MAX_DEPTH} deep at most`, "flatten the keys");
      ok = false;
    } else {
      const nested = checkJsonFormat(p, reporter, item as Record<string, unknown>, here, depth + 1);
      if (nested === undefined) ok = false;
      else out[key] = nested;
    }
  }
  return ok ? out : undefined;
}
