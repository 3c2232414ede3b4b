// Userinfo (`user:pass@`) in an authority is a credential. A front proxy that passes a
// client's authority on verbatim would otherwise put it into X-Forwarded-Host or a Forwarded
// `host=`, which a trusting listener forwards, logs (%REQ()%, CEL) and captures. It is taken
// out of the request's headers once, before anything reads them. A malformed `Forwarded`
// with an `@` is removed whole.
import type { IncomingHttpHeaders } from "node:http";
import { formatForwardedValue, parseForwarded } from "./forwarded-header.ts";

/** `user:pass@host:port` → `host:port`: everything up to the last `@` is userinfo. */
export function withoutUserinfo(authority: string): string {
  const at = authority.lastIndexOf("@");
  return at < 0 ? authority : authority.slice(at + 1);
}

/** Drops userinfo from every X-Forwarded-Host and Forwarded `host=` value; costs a scan for `@` when there is none. */
export function stripForwardedUserinfo(headers: IncomingHttpHeaders): void {
  const xfh = headers["x-forwarded-host"];
  if (xfh !== undefined && hasAt(xfh)) headers["x-forwarded-host"] = hostListWithoutUserinfo(xfh);
  const forwarded = headers.forwarded;
  if (forwarded === undefined || forwarded.indexOf("@") < 0) return;
  const stripped = forwardedWithoutUserinfo(forwarded);
  if (stripped === undefined) delete headers.forwarded;
  else headers.forwarded = stripped;
}

function hasAt(value: string | string[]): boolean {
  return typeof value === "string" ? value.indexOf("@") >= 0 : value.some((v) => v.indexOf("@") >= 0);
}

function hostListWithoutUserinfo(value: string | string[]): string {
  const joined = typeof value === "string" ? value : value.join(",");
  return joined
    .split(",")
    .map((host) => withoutUserinfo(host.trim()))
    .join(", ");
}

/**
 * Each element's `host=` parameter without userinfo, quoted or not; every other byte as
 * received. Undefined for a header that is not well-formed: where its values end is unclear,
 * so is which part of it is a credential, and it goes whole.
 */
function forwardedWithoutUserinfo(value: string): string | undefined {
  const parsed = parseForwarded(value);
  if (!parsed.wellFormed) return undefined;
  let out = "";
  let copiedTo = 0;
  for (const element of parsed.elements) {
    for (const pair of element) {
      if (pair.name !== "host" || pair.value.indexOf("@") < 0) continue;
      out += value.slice(copiedTo, pair.valueStart) + formatForwardedValue(withoutUserinfo(pair.value), pair.quoted);
      copiedTo = pair.valueEnd;
    }
  }
  return copiedTo === 0 ? value : out + value.slice(copiedTo);
}
