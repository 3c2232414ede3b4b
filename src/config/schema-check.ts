// Validates one document against its kind's JSON Schema and turns the validator's
// errors into positioned diagnostics with hints.
import { Ajv } from "ajv";
import type { ErrorObject, ValidateFunction } from "ajv";
import { closest, didYouMean } from "./did-you-mean.ts";
import { IMPLEMENTED_KINDS, documentSchema } from "./schema.ts";
import type { KindSchema } from "./schema.ts";

export interface SchemaProblem {
  /** Path segments to the offending node (for an unknown field: the field itself). */
  readonly segments: readonly (string | number)[];
  /** True when the problem is about a key (unknown field): point at the key. */
  readonly atKey: boolean;
  /** True when the segments name a field that is absent (point at its parent). */
  readonly missing: boolean;
  readonly message: string;
  readonly hint: string | undefined;
}

const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, allowUnionTypes: true });
const validators = new Map<KindSchema, ValidateFunction>();

function validatorFor(k: KindSchema): ValidateFunction {
  let v = validators.get(k);
  if (v === undefined) {
    v = ajv.compile(documentSchema(k));
    validators.set(k, v);
  }
  return v;
}

export function findKind(apiVersion: string, kind: string): KindSchema | undefined {
  return IMPLEMENTED_KINDS.find((k) => k.kind === kind && k.apiVersions.includes(apiVersion));
}

export function checkSchema(k: KindSchema, value: unknown): SchemaProblem[] {
  const validate = validatorFor(k);
  if (validate(value)) return [];
  const errors = validate.errors ?? [];
  const problems: SchemaProblem[] = [];
  // A wrong type makes every other finding on the same node noise.
  const typeErrorPaths = new Set(errors.filter((e) => e.keyword === "type").map((e) => e.instancePath));
  const seen = new Set<string>();
  for (const e of errors) {
    if (e.keyword !== "type" && typeErrorPaths.has(e.instancePath)) continue;
    const p = toProblem(e, value);
    if (p === undefined) continue;
    const key = `${p.segments.join("/")}|${p.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(p);
  }
  return problems;
}

function pointerSegments(pointer: string, root: unknown): (string | number)[] {
  if (pointer === "") return [];
  const out: (string | number)[] = [];
  let current: unknown = root;
  for (const raw of pointer.slice(1).split("/")) {
    const seg = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(current)) {
      const i = Number(seg);
      out.push(i);
      current = current[i];
    } else {
      out.push(seg);
      current = current !== null && typeof current === "object" ? (current as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}

function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `the string "${v}"`;
  return `${typeof v} ${String(v)}`;
}

function valueAt(root: unknown, segs: readonly (string | number)[]): unknown {
  let cur: unknown = root;
  for (const s of segs) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string | number, unknown>)[s];
  }
  return cur;
}

function toProblem(e: ErrorObject, root: unknown): SchemaProblem | undefined {
  const segs = pointerSegments(e.instancePath, root);
  const params = e.params as Record<string, unknown>;
  const actual = valueAt(root, segs);
  // A field marked `sensitive` (htpasswd lines) is never quoted, whatever is wrong with it.
  const hidden = (e.parentSchema as Record<string, unknown> | undefined)?.["sensitive"] === true;
  const describe = (v: unknown): string => (hidden && typeof v === "string" ? "a string" : describeValue(v));
  switch (e.keyword) {
    case "additionalProperties": {
      const field = String(params["additionalProperty"]);
      const allowed = Object.keys(((e.parentSchema as Record<string, unknown>)["properties"] as Record<string, unknown>) ?? {});
      return { segments: [...segs, field], atKey: true, missing: false, message: `unknown field "${field}"`, hint: didYouMean(field, allowed) };
    }
    case "required": {
      const field = String(params["missingProperty"]);
      return { segments: [...segs, field], atKey: false, missing: true, message: "missing required field", hint: `add "${field}"` };
    }
    case "type": {
      const expected = Array.isArray(params["type"]) ? (params["type"] as string[]).join(" or ") : String(params["type"]);
      const article = /^[aeiou]/.test(expected) ? "an" : "a";
      const want = expected === "object" ? "a mapping" : expected === "array" ? "a list" : `${article} ${expected}`;
      return { segments: segs, atKey: false, missing: false, message: `expected ${want}, got ${describe(actual)}`, hint: typeHint(expected, want, actual) };
    }
    case "enum": {
      const allowed = (params["allowedValues"] as unknown[]).map(String);
      const guess = typeof actual === "string" ? closest(actual, allowed) : undefined;
      return {
        segments: segs,
        atKey: false,
        missing: false,
        message: `${describe(actual)} is not allowed`,
        hint: guess !== undefined ? `did you mean "${guess}"? (one of ${allowed.join(", ")})` : `one of ${allowed.join(", ")}`,
      };
    }
    case "const":
      return { segments: segs, atKey: false, missing: false, message: `must be "${String(params["allowedValue"])}"`, hint: `write ${String(params["allowedValue"])}` };
    case "pattern": {
      const isDuration = String(params["pattern"]).includes("h|m|s|ms");
      return {
        segments: segs,
        atKey: false,
        missing: false,
        message: isDuration ? `${describe(actual)} is not a Gateway API duration` : `${describe(actual)} does not match ${String(params["pattern"])}`,
        hint: isDuration ? "write e.g. 10s, 500ms, 1h2m (units h, m, s, ms)" : "see docs/configuration.md for this field's format",
      };
    }
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return {
        segments: segs,
        atKey: false,
        missing: false,
        message: `${String(actual)} is out of range: must be ${String(params["comparison"])} ${String(params["limit"])}`,
        hint: rangeHint(String(params["comparison"]), Number(params["limit"])),
      };
    case "minItems":
      return { segments: segs, atKey: false, missing: false, message: `needs at least ${String(params["limit"])} item(s)`, hint: `add at least ${String(params["limit"])} item(s), or remove the field if it is optional` };
    case "maxItems":
      return { segments: segs, atKey: false, missing: false, message: `at most ${String(params["limit"])} items allowed`, hint: `keep ${String(params["limit"])} and remove the rest` };
    case "minLength":
      return { segments: segs, atKey: false, missing: false, message: "must not be empty", hint: "give it a value, or remove the field if it is optional" };
    case "maxLength":
      return { segments: segs, atKey: false, missing: false, message: `longer than ${String(params["limit"])} characters`, hint: `shorten it to ${String(params["limit"])} characters or fewer` };
    case "if":
    case "oneOf":
    case "anyOf":
      return undefined;
    default:
      return { segments: segs, atKey: false, missing: false, message: e.message ?? e.keyword, hint: "see docs/configuration.md for this field's allowed values" };
  }
}

/** What to write instead, from the type the schema wants and the value found. */
function typeHint(expected: string, want: string, actual: unknown): string {
  const numeric = expected === "integer" || expected === "number";
  if (numeric && typeof actual === "string" && actual.trim() !== "" && Number.isFinite(Number(actual))) return `write ${actual.trim()} without quotes`;
  if (expected === "string" && (typeof actual === "number" || typeof actual === "boolean")) return `quote it: "${String(actual)}"`;
  if (expected === "object") return "write key: value pairs indented under the field";
  if (expected === "array") return "write a list: one `- item` per line, or [a, b]";
  return `write ${want} here`;
}

function rangeHint(comparison: string, limit: number): string {
  switch (comparison) {
    case ">=":
      return `use ${limit} or more`;
    case "<=":
      return `use ${limit} or less`;
    case ">":
      return `use a value above ${limit}`;
    default:
      return `use a value below ${limit}`;
  }
}
