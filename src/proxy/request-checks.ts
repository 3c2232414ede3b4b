// Checks on the request line and headers that node's HTTP/1 parser leaves to the server,
// made before routing so that a malformed request can neither pick a route nor reach an
// upstream in a form the client did not mean. The common request pays a few property reads
// and one short loop over the raw header names.
import type { IncomingMessage } from "node:http";
import type { RequestFacts } from "./facts.ts";
import { Failure } from "./failures.ts";

export const RequestRefusals = {
  framing: new Failure("400", "", 400, "invalid_framing", "a request must not carry both Content-Length and Transfer-Encoding", false, false),
  transferCoding: new Failure(
    "501",
    "",
    501,
    "unsupported_transfer_coding",
    "the only transfer coding the gateway accepts on a request is chunked alone",
    false,
    false,
  ),
  fragment: new Failure("400", "", 400, "invalid_target", "the request target must not contain a fragment (#)", false, false),
  ambiguousPath: new Failure(
    "400",
    "",
    400,
    "invalid_path",
    "the path resolves elsewhere when its escaped slashes (%2F, %5C) or backslashes are read as /",
    false,
    false,
  ),
  missingHost: new Failure("400", "", 400, "missing_host", "an HTTP/1.1 request needs a Host header", false, false),
  duplicateHost: new Failure("400", "", 400, "invalid_host", "a request must not carry more than one Host header", false, false),
  expectation: new Failure("417", "", 417, "expectation_failed", "the only expectation the gateway meets is 100-continue", false, false),
} as const;

/** Why this request is refused before routing, or undefined when it may be routed. */
export function requestRefusal(req: IncomingMessage, facts: RequestFacts): Failure | undefined {
  const headers = req.headers;
  const transferEncoding = headers["transfer-encoding"];
  if (transferEncoding !== undefined) {
    if (headers["content-length"] !== undefined) return RequestRefusals.framing;
    // RFC 9112 §6.1: a coding the server does not implement gets 501. Forwarding the
    // de-chunked body without its other codings would hand the upstream bytes it cannot read.
    if (!isChunkedAlone(transferEncoding)) return RequestRefusals.transferCoding;
  }
  // A fragment is never sent in a request (RFC 9110 §7.1); routing on `/admin#x` as if it
  // were a path other than `/admin` would let it past a PathPrefix rule.
  if (req.url !== undefined && req.url.indexOf("#") >= 0) return RequestRefusals.fragment;
  if (facts.ambiguousPath) return RequestRefusals.ambiguousPath;
  if (headers.host === undefined) {
    if (req.httpVersionMinor === 1) return RequestRefusals.missingHost;
  } else if (hostLines(req.rawHeaders) > 1) {
    // RFC 9112 §3.2: node keeps the first Host and drops the rest; an upstream or a cache
    // behind us might pick another, so the request is ambiguous.
    return RequestRefusals.duplicateHost;
  }
  const expect = headers.expect;
  if (expect !== undefined && req.httpVersionMinor === 1 && expect.trim().toLowerCase() !== "100-continue") return RequestRefusals.expectation;
  return undefined;
}

/**
 * True when the client waits for `100 Continue` before sending its body. HTTP/1.0 has no
 * interim responses, so its Expect is ignored (RFC 9110 §10.1.1).
 */
export function expectsContinue(req: IncomingMessage): boolean {
  return req.headers.expect !== undefined && req.httpVersionMinor === 1;
}

/** The `h2c` upgrade (RFC 7540 §3.2) is optional: it is forwarded as the plain HTTP/1.1 request it also is. */
export function isH2cUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return upgrade !== undefined && upgrade.trim().toLowerCase() === "h2c";
}

function isChunkedAlone(value: string): boolean {
  return value.length >= 7 && value.trim().toLowerCase() === "chunked";
}

function hostLines(raw: string[]): number {
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && (name === "Host" || name === "host" || name.toLowerCase() === "host")) count++;
  }
  return count;
}
