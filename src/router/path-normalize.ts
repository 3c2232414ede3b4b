// The request path as routing and the upstream see it, normalised the way Envoy's
// `normalize_path` and `merge_slashes` do it: backslashes read as `/`, percent-encoded
// unreserved characters decoded (RFC 3986 §6.2.2.2), other escapes' hex upper-cased, runs of
// `/` merged, and `.` and `..` segments removed (RFC 3986 §5.2.4). Without it
// `GET /public/../admin` matches a `/public` rule and reaches an upstream that resolves it to
// `/admin`.
//
// Escaped slashes (`%2F`, `%5C`) and `;` path parameters stay as they are (APIs put `%2F` in
// identifiers), but servers differ on them: many decode `%2F` before matching, Java servers
// drop `;params` from each segment. alternateReading() gives the path as such a server reads
// it, so the handler can refuse a request whose two readings pick different rules.

/** True when `path` may change under normalisation or has another reading: one pass over it. */
function needsWork(path: string): boolean {
  for (let i = 1; i < path.length; i++) {
    const code = path.charCodeAt(i);
    if (code === 37 || code === 92 || code === 59) return true; // % \ ;
    if (code === 46 || code === 47) {
      // `/.` or `//`
      if (path.charCodeAt(i - 1) === 47) return true;
    }
  }
  return false;
}

/**
 * False when normalizePath returns `path` itself and alternateReading has nothing to say:
 * the common request's whole cost.
 */
export function pathNeedsWork(path: string): boolean {
  return path.charCodeAt(0) === 47 && needsWork(path);
}

/**
 * `path` normalised (the same string when it already was), or undefined when it holds a `%`
 * that does not start a two-hex-digit escape, or an escaped NUL. Decoding around a stray `%`
 * could mint a new escape (`%2%65` → `%2e`) that the upstream decodes once more; a server
 * written in C may end the path at a decoded NUL, so `/admin%00` (which no `/admin` prefix
 * rule matches) would reach it as `/admin`. Paths not starting with `/` are left alone.
 */
export function normalizePath(path: string): string | undefined {
  if (path.charCodeAt(0) !== 47 || !needsWork(path)) return path;
  const decoded = decodeUnreserved(path.indexOf("\\") < 0 ? path : path.replaceAll("\\", "/"));
  return decoded === undefined ? undefined : resolve(decoded);
}

/**
 * The normalised path as a server that decodes `%2F`/`%5C` and drops `;params` reads it, or
 * undefined when that reading is the path itself.
 */
export function alternateReading(normal: string): string | undefined {
  if (normal.indexOf("%2F") < 0 && normal.indexOf("%5C") < 0 && normal.indexOf(";") < 0) return undefined;
  const slashed = normal.replace(ESCAPED_SLASHES, "/");
  const bare = slashed.indexOf(";") < 0 ? slashed : slashed.replace(PATH_PARAMETERS, "");
  const other = resolve(bare);
  return other === normal ? undefined : other;
}

const ESCAPED_SLASHES = /%2F|%5C/g;
/** `;` up to the end of its segment. */
const PATH_PARAMETERS = /;[^/]*/g;

function resolve(path: string): string {
  const merged = mergeSlashes(path);
  return hasDotSegment(merged) ? removeDotSegments(merged) : merged;
}

function decodeUnreserved(path: string): string | undefined {
  let at = path.indexOf("%");
  if (at < 0) return path;
  let out = "";
  let from = 0;
  for (; at >= 0; at = path.indexOf("%", at + 3)) {
    const high = hexValue(path.charCodeAt(at + 1));
    const low = hexValue(path.charCodeAt(at + 2));
    if (high < 0 || low < 0) return undefined;
    const code = high * 16 + low;
    if (code === 0) return undefined;
    out += path.slice(from, at);
    out += isUnreserved(code) ? String.fromCharCode(code) : path.slice(at, at + 3).toUpperCase();
    from = at + 3;
  }
  return out + path.slice(from);
}

function mergeSlashes(path: string): string {
  if (path.indexOf("//") < 0) return path;
  let out = "";
  let previousSlash = false;
  for (let i = 0; i < path.length; i++) {
    const slash = path.charCodeAt(i) === 47;
    if (!(slash && previousSlash)) out += path[i];
    previousSlash = slash;
  }
  return out;
}

/** A `.` or `..` segment; `/.well-known` and `/a..b` are not. */
function hasDotSegment(path: string): boolean {
  for (let at = path.indexOf("/."); at >= 0; at = path.indexOf("/.", at + 1)) {
    let end = at + 2;
    if (path.charCodeAt(end) === 46) end++;
    if (end === path.length || path.charCodeAt(end) === 47) return true;
  }
  return false;
}

/** RFC 3986 §5.2.4 on an absolute path; `..` above the root is dropped. */
function removeDotSegments(path: string): string {
  const input = path.split("/");
  const output: string[] = [];
  // input[0] is the empty string before the leading slash.
  for (let i = 1; i < input.length; i++) {
    const segment = input[i]!;
    const last = i === input.length - 1;
    if (segment === ".") {
      if (last) output.push("");
    } else if (segment === "..") {
      output.pop();
      if (last) output.push("");
    } else {
      output.push(segment);
    }
  }
  return `/${output.join("/")}`;
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/** RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~". */
export function isUnreserved(code: number): boolean {
  return (
    (code >= 65 && code <= 90) ||
    (code >= 97 && code <= 122) ||
    (code >= 48 && code <= 57) ||
    code === 45 ||
    code === 46 ||
    code === 95 ||
    code === 126
  );
}
