// Which of the offered content codings a request's Accept-Encoding picks (RFC 9110 §12.5.3),
// as Envoy's compressor filters pick among themselves: the highest q-value wins, a tie goes
// to the coding the client listed first, `*` stands for any offered coding the header does
// not name, and `identity` winning (or q=0 on everything offered) means no compression.
import type { ContentCoding } from "../config/model.ts";

/** Why no coding was picked. */
export type NoCoding = "no_accept_encoding" | "not_accepted";

/** A q-value: "0" to "1" with at most three decimals; anything else makes the entry invalid. */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

export function chooseCoding(acceptEncoding: string | string[] | undefined, offered: readonly ContentCoding[]): ContentCoding | NoCoding {
  if (acceptEncoding === undefined) return "no_accept_encoding";
  const header = typeof acceptEncoding === "string" ? acceptEncoding : acceptEncoding.join(",");
  const entries: { coding: string; q: number }[] = [];
  for (const part of header.split(",")) {
    const [rawCoding = "", ...params] = part.split(";");
    const coding = rawCoding.trim().toLowerCase();
    if (coding === "") continue;
    let q = 1;
    for (const param of params) {
      const eq = param.indexOf("=");
      if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== "q") continue;
      const value = param.slice(eq + 1).trim();
      q = QVALUE.test(value) ? Number(value) : -1;
    }
    if (q >= 0) entries.push({ coding, q });
  }
  let best: string | undefined;
  let bestQ = 0;
  for (const { coding, q } of entries) {
    const candidate = coding === "*" ? offered.find((c) => !entries.some((e) => e.coding === c)) : coding;
    if (candidate === undefined || q <= bestQ) continue;
    if (candidate !== "identity" && !offered.includes(candidate as ContentCoding)) continue;
    best = candidate;
    bestQ = q;
  }
  return best === undefined || best === "identity" ? "not_accepted" : (best as ContentCoding);
}
