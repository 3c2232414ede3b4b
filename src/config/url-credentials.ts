// Credentials embedded in URLs (`https://user:pass@collector:4318`, a presigned
// `?X-Amz-Signature=`) are removed wherever a URL from the config or the environment is
// shown: the admin `/config`, warnings, config errors. Query values go by the same names
// telemetry redacts (config/sensitive.ts). The URL parser ends userinfo at the authority's last `@`, so a password may hold
// further `@`s; and a password holding `/`, `?` or `#` makes the URL unparseable, which is
// exactly when it would be printed whole in an error.

import { redactQueryValues } from "./sensitive.ts";

/** What stands in for a secret in the admin API, warnings and config errors. */
export const REDACTED = "[REDACTED]";
// A URL runs to the next space, quote or angle bracket, or to where the next URL starts
// (`https://a/x,https://u:pw@b/`, `?next=https://u:pw@c/`). Its userinfo, though, may itself
// read as a URL (`https://svc:s3cr3t+ftp://@c:4318`): a stretch up to an `@` that holds no
// `/`, `?` or `#` but those of a `scheme://` is taken as userinfo. Then a list joined
// without spaces (`https://a,https://u:pw@b/`) loses its first host too, which shows no secret.
const SCHEME = "[a-z][a-z0-9+.-]*:\\/\\/";
// Inside the userinfo only the `://` itself is let through: the scheme letters before it are
// ordinary characters there, so a text has one reading and the match stays linear.
const URL_IN_TEXT = new RegExp(`(${SCHEME})((?:[^\\s"'<>/?#]|:\\/\\/)*@)?((?:(?!${SCHEME})[^\\s"'<>])*)`, "gi");

/** `text` with the userinfo and sensitive query values of every URL in it replaced by `[REDACTED]`. */
export function redactUrlCredentials(text: string): string {
  if (text.indexOf("@") < 0 && text.indexOf("?") < 0) return text;
  return text.replace(URL_IN_TEXT, (_match: string, scheme: string, userinfo: string | undefined, rest: string) =>
    // Userinfo first: a password may hold a `?` that is not a query's start.
    userinfo === undefined ? scheme + redactQueryOf(redactAfterScheme(scheme, rest)) : `${scheme}${REDACTED}@${redactQueryOf(rest)}`,
  );
}

/** `authority/path?query#fragment` with the query's sensitive values redacted. */
function redactQueryOf(rest: string): string {
  const start = rest.indexOf("?");
  if (start < 0) return rest;
  const hash = rest.indexOf("#", start);
  const end = hash < 0 ? rest.length : hash;
  return rest.slice(0, start + 1) + redactQueryValues(rest.slice(start + 1, end), REDACTED) + rest.slice(end);
}

function redactAfterScheme(scheme: string, rest: string): string {
  const lastAt = rest.lastIndexOf("@");
  if (lastAt < 0) return rest;
  const authorityEnd = rest.search(/[/?#]/);
  const end = authorityEnd < 0 ? rest.length : authorityEnd;
  const at = rest.lastIndexOf("@", end - 1);
  if (at >= 0) return REDACTED + rest.slice(at);
  // An `@` only after a `/`, `?` or `#`: a path that holds one (`/@scope/pkg`), or a password
  // that holds one of those characters, which leaves a URL that does not parse.
  return URL.canParse(scheme + rest) ? rest : REDACTED + rest.slice(lastAt);
}
