// A gRPC authorization service's CheckResponse, read as Envoy's ext_authz filter reads it:
// status OK allows (with the ok_response's header changes), any other status denies (with the
// denied_response's status, 403 when it names none, headers and body). An answer the gateway
// could not write to the wire (a header name that is not a token, a CR or LF in a value, a
// status outside 200-599, a denial body over the limit) is not trimmed: an allowing one is no
// verdict, a denying one is refused all the same.
import { isFieldValue, isHttpToken } from "../config/name-formats.ts";
import type { OutgoingHeaders } from "../telemetry/hooks.ts";
import { DENIAL_BODY_LIMIT_BYTES } from "./auth-check.ts";
import { AuthGrant, type HeaderAction, type HeaderMutation, applyMutations } from "./auth-grant.ts";
import type { CheckResponseMessage, HeaderValueOptionMessage } from "./ext-authz-messages.ts";
import { isHopByHop } from "./headers.ts";

export type GrpcVerdict =
  | { readonly kind: "allow"; readonly grant: AuthGrant }
  | { readonly kind: "deny"; readonly status: number; readonly headers: Record<string, string | string[]>; readonly body: Buffer }
  /** `denied`: the service refused the request, so the answer, though unusable, is no allow. */
  | { readonly kind: "invalid"; readonly message: string; readonly denied: boolean };

/** google.rpc.Code OK. */
const GRPC_OK = 0;
const FORBIDDEN = 403;

/** HeaderValueOption.HeaderAppendAction by number. */
const APPEND_ACTIONS: readonly HeaderAction[] = ["append", "addIfAbsent", "overwrite", "overwriteIfExists"];

/**
 * Headers a service cannot write: the gateway frames every message and owns each connection,
 * and the request keeps the Host it was routed by (Envoy ignores Host and pseudo-headers in
 * `headers_to_remove` for the same reason).
 */
const GATEWAY_OWNED = new Set(["host", "content-length", "transfer-encoding", "expect"]);

class InvalidAnswer extends Error {}

export function readGrpcVerdict(answer: CheckResponseMessage): GrpcVerdict {
  const allowed = (answer.status?.code ?? GRPC_OK) === GRPC_OK;
  try {
    return allowed ? { kind: "allow", grant: grantOf(answer) } : denialOf(answer);
  } catch (error) {
    if (error instanceof InvalidAnswer) return { kind: "invalid", message: error.message, denied: !allowed };
    throw error;
  }
}

function grantOf(answer: CheckResponseMessage): AuthGrant {
  const ok = answer.okResponse;
  if (ok === undefined || ok === null) return new AuthGrant([], [], undefined);
  const remove: string[] = [];
  for (const raw of ok.headersToRemove) {
    const name = raw.toLowerCase();
    if (name.startsWith(":") || GATEWAY_OWNED.has(name) || remove.includes(name)) continue;
    remove.push(name);
  }
  const responseMutations = mutationsOf(ok.responseHeadersToAdd);
  return new AuthGrant(mutationsOf(ok.headers), remove, responseMutations.length === 0 ? undefined : responseMutations);
}

function denialOf(answer: CheckResponseMessage): GrpcVerdict {
  const denied = answer.deniedResponse;
  const code = denied?.status?.code ?? 0;
  const status = code === 0 ? FORBIDDEN : code;
  if (status < 200 || status > 599) throw new InvalidAnswer(`the authorization service denied with HTTP status ${code}, which is not a final status`);
  const headers: OutgoingHeaders = {};
  if (denied !== undefined && denied !== null) applyMutations(mutationsOf(denied.headers), headers);
  const body = Buffer.from(denied?.body ?? "", "utf8");
  if (body.length > DENIAL_BODY_LIMIT_BYTES) throw new InvalidAnswer(`the authorization service's denial is larger than ${DENIAL_BODY_LIMIT_BYTES} bytes`);
  return { kind: "deny", status, headers, body };
}

/**
 * Envoy's reading of each option: the deprecated `append` wins when set (true appends, false
 * replaces), else `append_action` (its default appends). An empty value is dropped unless
 * `keep_empty_value`; `raw_value` stands in for an empty `value`.
 */
function mutationsOf(options: readonly HeaderValueOptionMessage[]): HeaderMutation[] {
  const out: HeaderMutation[] = [];
  for (const option of options) {
    const header = option.header;
    if (header === undefined || header === null) continue;
    const name = header.key.toLowerCase();
    // `__proto__` is a token, but as a key of a headers object it would replace the object's prototype.
    if (!isHttpToken(name) || name === "__proto__") throw new InvalidAnswer(`the authorization service set a header named ${JSON.stringify(header.key.slice(0, 64))}, which is not a valid header name`);
    if (GATEWAY_OWNED.has(name) || isHopByHop(name)) continue;
    // Header values travel as bytes: UTF-8 text goes out as its UTF-8 bytes.
    const value = header.value !== "" ? Buffer.from(header.value, "utf8").toString("latin1") : Buffer.from(header.rawValue).toString("latin1");
    if (!isFieldValue(value)) throw new InvalidAnswer(`the authorization service set header ${name} to a value with a control character`);
    if (value === "" && !option.keepEmptyValue) continue;
    const action = option.append !== undefined && option.append !== null ? (option.append.value ? "append" : "overwrite") : APPEND_ACTIONS[option.appendAction];
    if (action === undefined) throw new InvalidAnswer(`the authorization service asked for header action ${option.appendAction}, which does not exist`);
    out.push({ name, value, action });
  }
  return out;
}
