// Value sources shared by the policy kinds: GEP `type: Header|Metadata|Literal` attributes,
// log fields (plus `Standard`), and kgateway `literal|requestHeader|environment` attributes.
import { closest } from "./did-you-mean.ts";
import { isKnownMetadataKey, METADATA_KEY_ALIASES, METADATA_KEYS } from "./metadata-keys.ts";
import type { CustomAttributeModel, LogFieldModel } from "./model.ts";
import type { Reporter, Resource, Segments } from "./resources.ts";
import { isCredentialHeaderForConfig } from "./sensitive.ts";
import { isStandardLogField, STANDARD_LOG_FIELDS } from "./standard-fields.ts";

const GEP_VALUE_FIELD = { Header: "headerName", Metadata: "metadataKey", Literal: "literalValue", Standard: "standardValue" } as const;
type GepType = keyof typeof GEP_VALUE_FIELD;

function checkGepShape(r: Resource, reporter: Reporter, a: Record<string, any>, at: Segments): string | undefined {
  const type = a["type"] as GepType;
  const field = GEP_VALUE_FIELD[type];
  for (const [t, other] of Object.entries(GEP_VALUE_FIELD)) {
    if (other !== field && a[other] !== undefined) reporter.error(r, [...at, other], `${other} is set but type is ${type}`, `set type: ${t} or remove ${other}`);
  }
  if (a["allowSensitive"] !== undefined && type !== "Header") reporter.error(r, [...at, "allowSensitive"], "allowSensitive applies to Header values only", "remove it");
  const value = a[field] as string | undefined;
  if (value === undefined) {
    reporter.report("error", r, [...at, field], `type ${type} needs ${field}`, `add ${field}`, { missing: true });
    return undefined;
  }
  return value;
}

function checkHeader(r: Resource, reporter: Reporter, header: string, allowSensitive: boolean, at: Segments, allowAt: Segments): boolean {
  if (isCredentialHeaderForConfig(header) && !allowSensitive) {
    reporter.error(r, at, `header "${header}" carries credentials and is not captured by default`, `add ${String(allowAt[allowAt.length - 1])}: true next to it to capture it anyway`);
    return false;
  }
  return true;
}

function checkMetadataKey(r: Resource, reporter: Reporter, keyName: string, at: Segments): void {
  if (isKnownMetadataKey(keyName)) return;
  const guess = closest(keyName, [...Object.keys(METADATA_KEYS), ...Object.keys(METADATA_KEY_ALIASES)]);
  reporter.warn(r, at, `metadata key "${keyName}" is not provided by Tollgate; the value will be empty`, guess ? `did you mean "${guess}"?` : `known keys: ${Object.keys(METADATA_KEYS).join(", ")} (or tollgate.<key>.name)`);
}

/** GEP CustomAttribute / MetricAttribute. */
export function gepAttributes(r: Resource, reporter: Reporter, list: readonly Record<string, any>[] | undefined, at: Segments): CustomAttributeModel[] {
  const out: CustomAttributeModel[] = [];
  const names = new Set<string>();
  (list ?? []).forEach((a, i) => {
    const aat = [...at, i];
    const name = String(a["name"]);
    if (names.has(name)) reporter.error(r, [...aat, "name"], `duplicate attribute name "${name}"`, "names must be unique");
    names.add(name);
    const value = checkGepShape(r, reporter, a, aat);
    if (value === undefined) return;
    switch (a["type"] as GepType) {
      case "Literal":
        out.push({ name, value: { from: "literal", value } });
        return;
      case "Header":
        if (checkHeader(r, reporter, value, a["allowSensitive"] === true, [...aat, "headerName"], [...aat, "allowSensitive"])) {
          out.push({ name, value: { from: "requestHeader", header: value.toLowerCase(), defaultValue: undefined } });
        }
        return;
      case "Metadata":
        checkMetadataKey(r, reporter, value, [...aat, "metadataKey"]);
        out.push({ name, value: { from: "metadata", key: value } });
        return;
      default:
        reporter.error(r, [...aat, "type"], "Standard values are for access-log fields only", "use Header, Metadata or Literal");
    }
  });
  return out;
}

/** GEP LogField. */
export function gepLogFields(r: Resource, reporter: Reporter, list: readonly Record<string, any>[] | undefined, at: Segments): LogFieldModel[] {
  const out: LogFieldModel[] = [];
  const names = new Set<string>();
  (list ?? []).forEach((f, i) => {
    const fat = [...at, i];
    const name = String(f["name"]);
    if (names.has(name)) reporter.error(r, [...fat, "name"], `duplicate field name "${name}"`, "names must be unique");
    names.add(name);
    const value = checkGepShape(r, reporter, f, fat);
    if (value === undefined) return;
    switch (f["type"] as GepType) {
      case "Standard":
        if (!isStandardLogField(value)) {
          const guess = closest(value, Object.keys(STANDARD_LOG_FIELDS));
          reporter.error(r, [...fat, "standardValue"], `unknown standard field "${value}"`, guess ? `did you mean "${guess}"?` : "see docs/configuration.md for the list");
          return;
        }
        out.push({ name, type: "Standard", standard: value });
        return;
      case "Header": {
        const allow = f["allowSensitive"] === true;
        if (checkHeader(r, reporter, value, allow, [...fat, "headerName"], [...fat, "allowSensitive"])) {
          out.push({ name, type: "Header", header: value.toLowerCase(), allowSensitive: allow });
        }
        return;
      }
      case "Literal":
        out.push({ name, type: "Literal", value });
        return;
      case "Metadata":
        checkMetadataKey(r, reporter, value, [...fat, "metadataKey"]);
        out.push({ name, type: "Metadata", key: value });
        return;
    }
  });
  return out;
}

const KG_SOURCES = ["literal", "requestHeader", "environment", "metadata"] as const;

/** kgateway tracing attributes: exactly one of literal / requestHeader / environment (/ Tollgate's metadata). */
export function kgatewayAttributes(r: Resource, reporter: Reporter, list: readonly Record<string, any>[] | undefined, at: Segments): CustomAttributeModel[] {
  const out: CustomAttributeModel[] = [];
  const names = new Set<string>();
  (list ?? []).forEach((a, i) => {
    const aat = [...at, i];
    const name = String(a["name"]);
    if (names.has(name)) reporter.error(r, [...aat, "name"], `duplicate attribute name "${name}"`, "names must be unique");
    names.add(name);
    const present = KG_SOURCES.filter((s) => a[s] !== undefined);
    if (present.length !== 1) {
      reporter.error(r, aat, present.length === 0 ? `attribute "${name}" has no value source` : `attribute "${name}" has ${present.join(" and ")}; exactly one is allowed`, "set exactly one of literal, requestHeader, environment, metadata");
      return;
    }
    const src = present[0]!;
    const v = a[src] as Record<string, any>;
    switch (src) {
      case "literal":
        out.push({ name, value: { from: "literal", value: String(v["value"]) } });
        return;
      case "requestHeader": {
        const header = String(v["name"]);
        if (checkHeader(r, reporter, header, v["allowSensitive"] === true, [...aat, src, "name"], [...aat, src, "allowSensitive"])) {
          out.push({ name, value: { from: "requestHeader", header: header.toLowerCase(), defaultValue: v["defaultValue"] as string | undefined } });
        }
        return;
      }
      case "environment":
        out.push({ name, value: { from: "environment", variable: String(v["name"]), defaultValue: v["defaultValue"] as string | undefined } });
        return;
      case "metadata":
        checkMetadataKey(r, reporter, String(v["key"]), [...aat, src, "key"]);
        out.push({ name, value: { from: "metadata", key: String(v["key"]) } });
        return;
    }
  });
  return out;
}
