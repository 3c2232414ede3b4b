// Values read out of a request as Envoy reads them: a query parameter (percent-decoded, a `+`
// left as it is) and a cookie (surrounding quotes taken off); and the request without them.

/** The first value of query parameter `name` (names and values percent-decoded, as bytes), or undefined. */
export function queryValue(query: string, name: string): Buffer | undefined {
  if (query === "") return undefined;
  for (const pair of query.split("&")) {
    const eq = pair.indexOf("=");
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    if (percentDecoded(rawName).toString("utf8") !== name) continue;
    return eq < 0 ? Buffer.alloc(0) : percentDecoded(pair.slice(eq + 1));
  }
  return undefined;
}

/** `query` without the parameters named in `names` (matched decoded); the same string when none is there. */
export function withoutQueryParams(query: string, names: readonly string[]): string {
  if (query === "" || names.length === 0) return query;
  const pairs = query.split("&");
  const kept = pairs.filter((pair) => {
    const eq = pair.indexOf("=");
    return !names.includes(percentDecoded(eq < 0 ? pair : pair.slice(0, eq)).toString("utf8"));
  });
  return kept.length === pairs.length ? query : kept.join("&");
}

/** The first value of query parameter `name` as written (no percent-decoding, as Envoy's hash policy reads it), or undefined. */
export function rawQueryValue(query: string, name: string): string | undefined {
  if (query === "") return undefined;
  for (const pair of query.split("&")) {
    const eq = pair.indexOf("=");
    if ((eq < 0 ? pair : pair.slice(0, eq)) === name) return eq < 0 ? "" : pair.slice(eq + 1);
  }
  return undefined;
}

/** The value of cookie `name` in a Cookie header, surrounding quotes taken off. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  }
  return undefined;
}

/** A Cookie header without the cookies named in `names`; undefined when none is left. */
export function withoutCookies(header: string, names: readonly string[]): string | undefined {
  const kept = header.split(";").filter((part) => {
    const eq = part.indexOf("=");
    return !names.includes((eq < 0 ? part : part.slice(0, eq)).trim());
  });
  const joined = kept.map((part) => part.trim()).filter((part) => part !== "").join("; ");
  return joined === "" ? undefined : joined;
}

/** Percent escapes as the bytes they stand for (a `+` stays a `+`, as Envoy reads a query); a bad escape stays as written. */
function percentDecoded(text: string): Buffer {
  if (text.indexOf("%") < 0) return Buffer.from(text, "latin1");
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 37 && i + 2 < text.length && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c & 0xff);
  }
  return Buffer.from(bytes);
}
