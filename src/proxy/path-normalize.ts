// The request path as routing and the upstream see it, normalised the way Envoy's
// `normalize_path` and `merge_slashes` do it: percent-encoded unreserved characters decoded
// (RFC 3986 §6.2.2.2), other escapes' hex upper-cased, runs of `/` merged, and `.` and `..`
// segments removed (RFC 3986 §5.2.4). Without it `GET /public/../admin` matches a `/public`
// rule and reaches an upstream that resolves it to `/admin`.
//
// Escaped slashes (`%2F`), escaped backslashes (`%5C`) and raw backslashes stay as they are
// (APIs put `%2F` in identifiers), unless reading them as `/` would move the path: then
// the request is ambiguous (`/public/..%2Fadmin` is `/admin` to a server that decodes before
// it resolves dots) and is refused.

const SLASH_LOOKALIKES = /%2F|%5C|\\/g;

/** True when `path` has nothing to normalise: the common request pays four `indexOf`. */
function isNormal(path: string): boolean {
  return path.indexOf("%") < 0 && path.indexOf("/.") < 0 && path.indexOf("//") < 0 && path.indexOf("\\") < 0;
}

/**
 * `path` normalised (the same string when it already was), or undefined when it is
 * ambiguous. Paths not starting with `/` are left alone.
 */
export function normalizePath(path: string): string | undefined {
  if (path.charCodeAt(0) !== 47 || isNormal(path)) return path;
  const normal = resolve(path);
  if (normal.indexOf("%2F") < 0 && normal.indexOf("%5C") < 0 && normal.indexOf("\\") < 0) return normal;
  const slashed = normal.replace(SLASH_LOOKALIKES, "/");
  return resolve(slashed) === slashed ? normal : undefined;
}

function resolve(path: string): string {
  const merged = mergeSlashes(decodeUnreserved(path));
  return merged.indexOf("/.") < 0 ? merged : removeDotSegments(merged);
}

function decodeUnreserved(path: string): string {
  if (path.indexOf("%") < 0) return path;
  let out = "";
  let from = 0;
  for (let at = path.indexOf("%"); at >= 0; at = path.indexOf("%", at + 1)) {
    const high = hexValue(path.charCodeAt(at + 1));
    const low = hexValue(path.charCodeAt(at + 2));
    // A `%` without two hex digits is not an escape; it is left for the upstream to judge.
    if (high < 0 || low < 0) continue;
    const code = high * 16 + low;
    out += path.slice(from, at);
    out += isUnreserved(code) ? String.fromCharCode(code) : path.slice(at, at + 3).toUpperCase();
    from = at + 3;
    at += 2;
  }
  return from === 0 ? path : out + path.slice(from);
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
function isUnreserved(code: number): boolean {
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
