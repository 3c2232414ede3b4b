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
  const digests = readLines(lines, "item", {
    fail: (i, message, hint) => reporter.error(p, [...at, i], message, hint),
    // kgateway skips it too; in a list, unlike a file, a comment is more likely a mistake.
    comment: (i) => reporter.warn(p, [...at, i], "a blank or # comment item holds no user and is skipped", "remove the item"),
  });
  if (digests === undefined) return undefined;
  if (digests.size === 0) {
    reporter.error(p, at, "users holds no user: every item is blank or a # comment", HTPASSWD_HINT);
    return undefined;
  }
  return new HtpasswdUsers("inline", digests);
}

function fromSecret(p: Resource, reporter: Reporter, ref: Record<string, string>, at: Segments, secrets: SecretStore): HtpasswdUsers | undefined {
  const name = ref["key"] ?? DEFAULT_HTPASSWD_KEY;
  const makeHint = `kubectl create secret generic NAME --from-file=${name}=PATH --dry-run=client -o yaml`;
  const secret = secrets.find(p, "gateway.kgateway.dev", { name: ref["name"]!, namespace: ref["namespace"] }, at, `add a Secret with the htpasswd text under ${name}; ${makeHint}`);
  if (secret === undefined) return undefined;
  const value = secretValue(secret, secret.doc.value as Record<string, unknown>, name, reporter, {
    missingHint: `put the htpasswd text under ${name} (data, base64), or set secretRef.key to the key that holds it; ${makeHint}`,
    content: "the htpasswd text",
  });
  if (value === undefined) return undefined;
  // Numbered from 1 as an editor shows them.
  const digests = readLines(value.text.split("\n"), "line", {
    fail: (i, message, hint) => reporter.error(secret, value.at, `line ${i + 1} of the htpasswd text under ${name}: ${message}`, hint),
    comment: () => {},
    firstNumber: 1,
  });
  if (digests === undefined) return undefined;
  if (digests.size === 0) {
    reporter.error(secret, value.at, `the htpasswd text under ${name} holds no user`, `${HTPASSWD_HINT}; ${makeHint}`);
    return undefined;
  }
  return new HtpasswdUsers(`Secret ${key(secret)} ${name}`, digests);
}

interface LineReports {
  fail(index: number, message: string, hint: string): void;
  /** A blank or `#` comment line, which holds no user. */
  comment(index: number): void;
  /** What the first line is called in messages: 0 for list items, 1 for lines of text. */
  readonly firstNumber?: number;
}

/** Each user's digest; undefined once `fail` has been told of every bad or repeated line. */
function readLines(lines: readonly string[], unit: "item" | "line", reports: LineReports): Map<string, Buffer> | undefined {
  const digests = new Map<string, Buffer>();
  const firstIndex = new Map<string, number>();
  const first = reports.firstNumber ?? 0;
  let usable = true;
  lines.forEach((line, i) => {
    const parsed = parseHtpasswdLine(line);
    if ("comment" in parsed) {
      reports.comment(i);
    } else if ("problem" in parsed) {
      reports.fail(i, parsed.problem, HTPASSWD_HINT);
      usable = false;
    } else if (digests.get(parsed.user)?.equals(parsed.digest) === true) {
      // The same line twice (a file appended to itself) lets in no one else; kgateway keeps one.
    } else if (digests.has(parsed.user)) {
      reports.fail(i, `user ${JSON.stringify(parsed.user)} is listed twice with different passwords (${unit}s ${firstIndex.get(parsed.user)! + first} and ${i + first})`, "keep one line per user");
      usable = false;
    } else {
      digests.set(parsed.user, parsed.digest);
      firstIndex.set(parsed.user, i);
    }
  });
  return usable ? digests : undefined;
}
