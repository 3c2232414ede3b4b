// kgateway's TrafficPolicy `apiKeyAuth` (Envoy's api_key_auth filter): the API keys a rule
// lets in, each naming a client, from a Secret (`secretRef`) or the Secrets of the policy's
// namespace that carry some labels (`secretSelector`): each entry of such a Secret is a
// client id and its key. `disable: {}` exempts rules from their Gateway's apiKeyAuth.
import { ApiKeys } from "./api-keys.ts";
import type { ApiKeySourceModel, FilterModel } from "./model.ts";
import { type Reporter, type Resource, type Segments, key } from "./resources.ts";
import type { SecretStore } from "./secret-store.ts";
import { secretValue } from "./tls-secrets.ts";
import { isGatewayHeader, isHeaderName } from "./header-names.ts";

export type ApiKeyAuthModel = Extract<FilterModel, { type: "ApiKeyAuth" | "NoApiKeyAuth" }>;

/** kgateway's source when keySources is empty. */
export const DEFAULT_KEY_SOURCE: ApiKeySourceModel = { header: "api-key" };
const FIELDS = ["secretRef", "secretSelector", "disable"] as const;
const MAKE_SECRET_HINT = "kubectl create secret generic NAME --from-literal=CLIENT_ID=KEY --dry-run=client -o yaml";
const CONTROL = /[\u0000-\u001f\u007f]/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

export function policyApiKeyAuth(p: Resource, reporter: Reporter, cfg: Record<string, unknown>, secrets: SecretStore): ApiKeyAuthModel | undefined {
  const at = ["spec", "apiKeyAuth"];
  const given = FIELDS.filter((field) => cfg[field] !== undefined);
  if (given.length !== 1) {
    const message = given.length === 0 ? "apiKeyAuth needs secretRef, secretSelector or disable" : `${given.join(" and ")} are set; apiKeyAuth holds exactly one of secretRef, secretSelector and disable`;
    reporter.error(p, at, message, "write secretRef: {name: api-keys}, secretSelector: {matchLabels: {app: api}}, or disable: {} to exempt the rules from their Gateway's apiKeyAuth");
    return undefined;
  }
  if (cfg["disable"] !== undefined) {
    const ignored = ["keySources", "forwardCredential", "clientIdHeader"].filter((field) => cfg[field] !== undefined);
    if (ignored.length > 0) reporter.warn(p, [...at, ignored[0]!], `${ignored.join(" and ")} ${ignored.length === 1 ? "has" : "have"} no effect with disable`, "remove them, or disable in a policy of its own");
    return { type: "NoApiKeyAuth" };
  }
  const sources = keySources(p, reporter, cfg["keySources"] as Record<string, string>[] | undefined, [...at, "keySources"]);
  const clientIdHeader = cfg["clientIdHeader"] as string | undefined;
  let usable = sources !== undefined;
  if (clientIdHeader !== undefined && !isHeaderName(clientIdHeader)) {
    reporter.error(p, [...at, "clientIdHeader"], `${JSON.stringify(clientIdHeader)} is not a header name`, "use letters, digits and - (x-client-id)");
    usable = false;
  } else if (clientIdHeader !== undefined && isGatewayHeader(clientIdHeader)) {
    reporter.error(p, [...at, "clientIdHeader"], `${clientIdHeader} is a header the gateway frames or sets itself; a client id there would break or forge the request`, "use a header of its own (x-client-id)");
    usable = false;
  }
  const found = cfg["secretRef"] !== undefined ? referencedSecret(p, reporter, cfg["secretRef"] as Record<string, string>, [...at, "secretRef"], secrets) : selectedSecrets(p, reporter, cfg["secretSelector"] as Record<string, Record<string, string>>, [...at, "secretSelector"], secrets);
  const keys = found === undefined ? undefined : keysOf(p, reporter, found, at);
  if (!usable || keys === undefined) return undefined;
  return { type: "ApiKeyAuth", policy: key(p), sources: sources!, forwardCredential: cfg["forwardCredential"] === true, clientIdHeader: clientIdHeader?.toLowerCase(), keys };
}

/** The header and query parameter names every apiKeyAuth of `policies` reads keys from, for redaction. */
export function credentialNames(policies: readonly Resource[]): { headers: string[]; queryParams: string[] } {
  const headers: string[] = [];
  const queryParams: string[] = [];
  for (const p of policies) {
    const cfg = p.spec["apiKeyAuth"] as Record<string, unknown> | undefined;
    if (cfg === undefined || cfg["disable"] !== undefined) continue;
    const listed = cfg["keySources"] as Record<string, unknown>[] | undefined;
    for (const source of listed === undefined || listed.length === 0 ? [DEFAULT_KEY_SOURCE] : listed) {
      if (typeof source["header"] === "string") headers.push(source["header"]);
      if (typeof source["query"] === "string") queryParams.push(source["query"]);
    }
  }
  return { headers, queryParams };
}

function keySources(p: Resource, reporter: Reporter, listed: readonly Record<string, string>[] | undefined, at: Segments): ApiKeySourceModel[] | undefined {
  if (listed === undefined || listed.length === 0) return [DEFAULT_KEY_SOURCE];
  let usable = true;
  const sources = listed.map((source, i) => {
    if (source["header"] === undefined && source["query"] === undefined && source["cookie"] === undefined) {
      reporter.error(p, [...at, i], "a key source needs a header, a query parameter or a cookie", "write {header: x-api-key}, {query: api_key} or {cookie: api_key}");
      usable = false;
    }
    if (source["header"] !== undefined && !isHeaderName(source["header"])) {
      reporter.error(p, [...at, i, "header"], `${JSON.stringify(source["header"])} is not a header name`, "use letters, digits and - (x-api-key)");
      usable = false;
    } else if (source["header"] !== undefined && isGatewayHeader(source["header"])) {
      reporter.error(p, [...at, i, "header"], `${source["header"]} is a header the gateway frames or sets itself, not one a client sends a key in`, "use a header of its own (x-api-key)");
      usable = false;
    }
    // A name a query or Cookie header splits on could never be found.
    if (source["query"] !== undefined && /[&=#\s]/.test(source["query"])) {
      reporter.error(p, [...at, i, "query"], `${JSON.stringify(source["query"])} holds a character a query splits on, so no request could carry it`, "name the parameter with letters, digits, - and _");
      usable = false;
    }
    if (source["cookie"] !== undefined && !isHeaderName(source["cookie"])) {
      reporter.error(p, [...at, i, "cookie"], `${JSON.stringify(source["cookie"])} is not a cookie name`, "name the cookie with letters, digits, - and _ (RFC 6265)");
      usable = false;
    }
    return { ...(source["header"] === undefined ? {} : { header: source["header"].toLowerCase() }), ...(source["query"] === undefined ? {} : { query: source["query"] }), ...(source["cookie"] === undefined ? {} : { cookie: source["cookie"] }) };
  });
  return usable ? sources : undefined;
}

function referencedSecret(p: Resource, reporter: Reporter, ref: Record<string, string>, at: Segments, secrets: SecretStore): Resource[] | undefined {
  const group = ref["group"] ?? "";
  const kind = ref["kind"] ?? "Secret";
  if (group !== "" || kind !== "Secret") {
    reporter.error(p, at, `API keys come from a Secret, not ${group === "" ? "" : `${group}/`}${kind}`, 'reference a Secret: {name: ...} (group "", kind Secret)');
    return undefined;
  }
  const secret = secrets.find(p, "gateway.kgateway.dev", { name: ref["name"]!, namespace: ref["namespace"] }, at, `add a Secret whose entries are client ids and their keys; ${MAKE_SECRET_HINT}`);
  return secret === undefined ? undefined : [secret];
}

function selectedSecrets(p: Resource, reporter: Reporter, selector: Record<string, Record<string, string>>, at: Segments, secrets: SecretStore): Resource[] | undefined {
  const labels = selector["matchLabels"]!;
  if (Object.keys(labels).length === 0) {
    reporter.error(p, [...at, "matchLabels"], "an empty matchLabels would select every Secret of the namespace", "name the labels your API key Secrets carry: {app: api-keys}");
    return undefined;
  }
  const selected = secrets.withLabels(p.namespace, labels);
  if (selected.length === 0) {
    reporter.error(p, [...at, "matchLabels"], `no Secret in namespace ${p.namespace} carries the labels ${JSON.stringify(labels)}`, `label the Secrets with the API keys: metadata.labels; ${MAKE_SECRET_HINT}`);
    return undefined;
  }
  return selected;
}

/**
 * Every entry of the Secrets as a client id and its key; undefined after reporting each bad
 * entry. As kgateway reads them: an empty key is skipped (warned here), the same client with
 * the same key in two Secrets is one entry, and a client may have several keys; two clients
 * with one key is an error (the key would name either).
 */
function keysOf(p: Resource, reporter: Reporter, found: readonly Resource[], at: Segments): ApiKeys | undefined {
  const owners = new Map<string, { client: string; secret: string }>();
  let usable = true;
  for (const secret of found) {
    const document = secret.doc.value as Record<string, unknown>;
    const names = new Set<string>();
    for (const field of ["data", "stringData"]) {
      const values = document[field];
      if (values !== null && typeof values === "object" && !Array.isArray(values)) for (const name of Object.keys(values)) names.add(name);
    }
    for (const name of names) {
      // Kubernetes' rule for Secret keys: the id also goes upstream as a header value.
      if (!SECRET_KEY.test(name)) {
        const field = (document["stringData"] as Record<string, unknown> | undefined)?.[name] !== undefined ? "stringData" : "data";
        reporter.report("error", secret, [field, name], `${JSON.stringify(name)} is not a Secret key Kubernetes accepts, so it cannot be a client id`, "use letters, digits, '-', '_' and '.'", { atKey: true });
        usable = false;
        continue;
      }
      const value = secretValue(secret, document, name, reporter, { missingHint: "", content: "the API key" });
      if (value === undefined) {
        usable = false;
        continue;
      }
      if (value.text === "") {
        reporter.warn(secret, value.at, `the key of client ${JSON.stringify(name)} is empty and is skipped, as kgateway skips it`, "give the client a key, or remove the entry");
        continue;
      }
      if (CONTROL.test(value.text)) {
        reporter.error(secret, value.at, `the key of client ${JSON.stringify(name)} holds a control character`, "a key is one line of text, as a client sends it in a header or a query");
        usable = false;
        continue;
      }
      const owner = owners.get(value.text);
      if (owner === undefined) owners.set(value.text, { client: name, secret: key(secret) });
      else if (owner.client !== name) {
        reporter.error(secret, value.at, `client ${JSON.stringify(name)} has the same key as client ${JSON.stringify(owner.client)} of Secret ${owner.secret}`, "give each client a key of its own: a key names one client");
        usable = false;
      }
    }
  }
  if (!usable) return undefined;
  if (owners.size === 0) {
    reporter.error(p, at, `the Secrets ${found.map((s) => key(s)).join(", ")} hold no key`, `put one entry per client in data: CLIENT_ID: base64 of its key; ${MAKE_SECRET_HINT}`);
    return undefined;
  }
  return new ApiKeys(found.map((s) => `Secret ${key(s)}`), [...owners].map(([k, owner]) => [k, owner.client] as const));
}
