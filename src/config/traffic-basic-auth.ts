// kgateway's TrafficPolicy `basicAuth` (Envoy's basic_auth filter): the users a rule lets in,
// from htpasswd lines written in the policy or held in a Secret; `disable: {}` exempts rules
// from their Gateway's basicAuth. Every line is checked here, so a bad one fails the load
// with its place instead of locking its user out at the first request.
import { HTPASSWD_HINT, HtpasswdUsers, parseHtpasswdLine } from "./htpasswd.ts";
import type { FilterModel } from "./model.ts";
import { type Reporter, type Resource, type Segments, key } from "./resources.ts";
import type { SecretStore } from "./secret-store.ts";
import { secretValue } from "./tls-secrets.ts";

export type BasicAuthModel = Extract<FilterModel, { type: "BasicAuth" | "NoBasicAuth" }>;

/** kgateway's default key of the htpasswd text in the Secret. */
export const DEFAULT_HTPASSWD_KEY = ".htpasswd";
const FIELDS = ["users", "secretRef", "disable"] as const;
const MAKE_SECRET_HINT = "kubectl create secret generic NAME --from-file=.htpasswd --dry-run=client -o yaml";

export function policyBasicAuth(p: Resource, reporter: Reporter, cfg: Record<string, unknown>, secrets: SecretStore): BasicAuthModel | undefined {
  const at = ["spec", "basicAuth"];
  const given = FIELDS.filter((field) => cfg[field] !== undefined);
  if (given.length !== 1) {
    const message = given.length === 0 ? "basicAuth needs users, secretRef or disable" : `${given.join(" and ")} are set; basicAuth holds exactly one of users, secretRef and disable`;
    reporter.error(p, at, message, 'write users: ["alice:{SHA}..."], secretRef: {name: htpasswd}, or disable: {} to exempt the rules from their Gateway\'s basicAuth');
    return undefined;
  }
  if (cfg["disable"] !== undefined) return { type: "NoBasicAuth" };
  const users = cfg["users"] === undefined ? fromSecret(p, reporter, cfg["secretRef"] as Record<string, string>, [...at, "secretRef"], secrets) : fromInline(p, reporter, cfg["users"] as string[], [...at, "users"]);
  return users === undefined ? undefined : { type: "BasicAuth", policy: key(p), users };
}

function fromInline(p: Resource, reporter: Reporter, lines: readonly string[], at: Segments): HtpasswdUsers | undefined {
  const digests = readLines(lines, "item", (i, message, hint) => reporter.error(p, [...at, i], message, hint));
  return digests === undefined ? undefined : new HtpasswdUsers("inline", digests);
}

function fromSecret(p: Resource, reporter: Reporter, ref: Record<string, string>, at: Segments, secrets: SecretStore): HtpasswdUsers | undefined {
  const name = ref["key"] ?? DEFAULT_HTPASSWD_KEY;
  const secret = secrets.find(p, "gateway.kgateway.dev", { name: ref["name"]!, namespace: ref["namespace"] }, at, `add a Secret with the htpasswd text under ${name}; ${MAKE_SECRET_HINT}`);
  if (secret === undefined) return undefined;
  const value = secretValue(secret, secret.doc.value as Record<string, unknown>, name, reporter, {
    missingHint: `put the htpasswd text under ${name} (data, base64), or set secretRef.key to the key that holds it; ${MAKE_SECRET_HINT}`,
  });
  if (value === undefined) return undefined;
  // Numbered from 1 as an editor shows them; blank lines (a final newline) hold no user.
  const lines = value.text.split("\n").map((line) => (line.trim() === "" ? undefined : line));
  const digests = readLines(lines, "line", (i, message, hint) => reporter.error(secret, value.at, `line ${i + 1} of the htpasswd text under ${name}: ${message}`, hint), 1);
  if (digests === undefined) return undefined;
  if (digests.size === 0) {
    reporter.error(secret, value.at, `the htpasswd text under ${name} holds no user`, `${HTPASSWD_HINT}; ${MAKE_SECRET_HINT}`);
    return undefined;
  }
  return new HtpasswdUsers(`Secret ${key(secret)} ${name}`, digests);
}

/** Each user's digest; undefined once `fail` has been told of every bad or repeated line (undefined lines are skipped). */
function readLines(lines: readonly (string | undefined)[], unit: "item" | "line", fail: (index: number, message: string, hint: string) => void, firstNumber = 0): Map<string, Buffer> | undefined {
  const digests = new Map<string, Buffer>();
  const firstIndex = new Map<string, number>();
  let usable = true;
  lines.forEach((line, i) => {
    if (line === undefined) return;
    const parsed = parseHtpasswdLine(line.trimEnd());
    if ("problem" in parsed) {
      fail(i, parsed.problem, HTPASSWD_HINT);
      usable = false;
    } else if (digests.has(parsed.user)) {
      fail(i, `user "${parsed.user}" is listed twice (${unit}s ${firstIndex.get(parsed.user)! + firstNumber} and ${i + firstNumber})`, "keep one line per user");
      usable = false;
    } else {
      digests.set(parsed.user, parsed.digest);
      firstIndex.set(parsed.user, i);
    }
  });
  return usable ? digests : undefined;
}
