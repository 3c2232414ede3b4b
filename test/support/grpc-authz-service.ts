// An authorization service speaking Envoy's ext_authz gRPC API, on grpc-js (gRPC's official
// Node implementation) with the messages of test/fixtures/ext-authz/ext_authz.proto. What it
// answers is chosen by the checked request's Authorization header (see `answerFor`); every
// CheckRequest it decodes is kept, and so is whether the gateway cancelled the call.
import { Metadata, Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData, loadPackageDefinition, status, type GrpcObject, type ServiceClientConstructor } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";

const PROTO = fileURLToPath(new URL("../fixtures/ext-authz/ext_authz.proto", import.meta.url));

export interface SeenCheck {
  readonly request: DecodedCheckRequest;
  readonly metadata: Record<string, string>;
  /** The call's deadline as the service received it (epoch ms), Infinity when it had none. */
  readonly deadlineMs: number;
  /** When the handler ran (epoch ms): after grpc-js set the deadline from the call's grpc-timeout. */
  readonly receivedAtMs: number;
  /** When the service saw the call cancelled (epoch ms); undefined while it was not. */
  cancelledAtMs: number | undefined;
  /** The subject CN of the client certificate the caller presented, if any. */
  readonly peerCommonName: string | undefined;
}

export interface DecodedCheckRequest {
  readonly attributes: {
    readonly source: { readonly address: { readonly socket_address: { readonly address: string; readonly port_value: number } } };
    readonly destination: { readonly address: { readonly socket_address: { readonly address: string; readonly port_value: number } } };
    readonly request: {
      readonly time: { readonly seconds: number; readonly nanos: number };
      readonly http: {
        readonly id: string;
        readonly method: string;
        readonly headers: Record<string, string>;
        readonly path: string;
        readonly host: string;
        readonly scheme: string;
        readonly size: number;
        readonly protocol: string;
        readonly body: string;
        readonly raw_body: Buffer;
      };
    };
    readonly context_extensions: Record<string, string>;
  };
}

export interface GrpcAuthzService {
  readonly port: number;
  readonly seen: SeenCheck[];
  close(): Promise<void>;
}

type Answer = { readonly error: { code: status; details: string } } | { readonly response: Record<string, unknown> };

/** Stands for bytes that are no protobuf message (a lone field tag with no value). */
const NOT_A_CHECK_RESPONSE = { notACheckResponse: true };

const header = (key: string, value: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ header: { key, value }, ...extra });

/**
 * - `Bearer good`: OK, with one header per append action, three removals (Host among them,
 *   which must stay) and a header for the client's answer
 * - `Bearer bad`: PERMISSION_DENIED with a 401, a challenge and a JSON body
 * - `Bearer plain-deny`: PERMISSION_DENIED and nothing else (Envoy answers 403)
 * - `Bearer unavailable`: the call fails with UNAVAILABLE
 * - `Bearer failed-precondition`: the call fails with FAILED_PRECONDITION (a status with no response headers before it)
 * - `Bearer hang`: never answered
 * - `Bearer headers-then-hang`: sends its response headers, then never answers
 * - `Bearer own-deadline`: fails with DEADLINE_EXCEEDED at once, about its own work
 * - `Bearer crlf`: OK, but a header value holds CR LF
 * - `Bearer odd-status`: denied with HTTP status 42
 * - `Bearer odd-names`: OK, setting a header named `constructor` (a key every object has)
 * - `Bearer proto`: OK, setting a header named `__proto__`
 * - `Bearer echo`: OK, setting `x-user-echo` to the request's `x-user` as the service read it
 * - `Bearer status-N`: denied with HTTP status N; `Bearer body-N`: denied with an N-byte body of `é`s
 * - `Bearer garbage`: an answer that is not a CheckResponse; `Bearer empty`: a CheckResponse with nothing set
 * - `Bearer odd-action`, `Bearer bad-name`: OK, with an append action or a header name that does not exist
 * - `Bearer set-then-remove`: OK, setting `x-foo` and removing `X-Foo`
 * - anything else: OK with no changes
 */
function answerFor(authorization: string | undefined, headers: Record<string, string>): Answer | undefined {
  if (authorization === "Bearer echo") return { response: { status: { code: 0 }, ok_response: { headers: [header("x-user-echo", headers["x-user"] ?? "")] } } };
  const denyWith = /^Bearer status-(\d+)$/.exec(authorization ?? "");
  if (denyWith !== null) return { response: { status: { code: status.PERMISSION_DENIED }, denied_response: { status: { code: Number(denyWith[1]) } } } };
  const bodyOf = /^Bearer body-(\d+)$/.exec(authorization ?? "");
  if (bodyOf !== null) return { response: { status: { code: status.PERMISSION_DENIED }, denied_response: { body: "é".repeat(Number(bodyOf[1]) / 2) } } };
  switch (authorization) {
    case "Bearer good":
      return {
        response: {
          status: { code: 0 },
          ok_response: {
            headers: [
              header("x-user-id", "alice"),
              header("x-auth-groups", "admins", { append: { value: false } }),
              header("X-Appended", "two", { append: { value: true } }),
              header("x-tier", "gold", { append_action: 1 }),
              header("x-new-tier", "gold", { append_action: 1 }),
              header("x-plan", "pro", { append_action: 3 }),
              header("x-note", "checked", { append_action: 3 }),
              header("x-replaced", "by-auth", { append_action: 2 }),
              header("x-empty", ""),
              header("x-kept-empty", "", { keep_empty_value: true }),
              { header: { key: "X-Raw", raw_value: Buffer.from("bytes") } },
              header("x-name", "José"),
              header("content-length", "999"),
            ],
            headers_to_remove: ["authorization", "Host", "X-Remove-Me", ":path"],
            response_headers_to_add: [header("x-auth-served", "yes"), header("set-cookie", "auth=1", { append_action: 0 })],
          },
        },
      };
    case "Bearer bad":
      return {
        response: {
          status: { code: status.PERMISSION_DENIED },
          denied_response: {
            status: { code: 401 },
            headers: [header("www-authenticate", 'Bearer realm="edge"'), header("content-type", "application/json"), header("connection", "keep-alive")],
            body: JSON.stringify({ error: "token expired" }),
          },
        },
      };
    case "Bearer plain-deny":
      return { response: { status: { code: status.PERMISSION_DENIED } } };
    case "Bearer unavailable":
      return { error: { code: status.UNAVAILABLE, details: "policy store down: secret-detail" } };
    case "Bearer failed-precondition":
      return { error: { code: status.FAILED_PRECONDITION, details: "policy not loaded" } };
    case "Bearer hang":
    case "Bearer headers-then-hang":
      return undefined;
    case "Bearer own-deadline":
      return { error: { code: status.DEADLINE_EXCEEDED, details: "policy store timed out" } };
    case "Bearer odd-names":
      return { response: { status: { code: 0 }, ok_response: { headers: [header("constructor", "c1"), header("x-user-id", "alice")] } } };
    case "Bearer garbage":
      return { response: NOT_A_CHECK_RESPONSE };
    case "Bearer empty":
      return { response: {} };
    case "Bearer odd-action":
      return { response: { status: { code: 0 }, ok_response: { headers: [header("x-user-id", "alice", { append_action: 4 })] } } };
    case "Bearer bad-name":
      return { response: { status: { code: 0 }, ok_response: { headers: [header("bad name", "x")] } } };
    case "Bearer set-then-remove":
      return { response: { status: { code: 0 }, ok_response: { headers: [header("x-foo", "from-auth", { append_action: 2 })], headers_to_remove: ["X-Foo"] } } };
    case "Bearer proto":
      return { response: { status: { code: 0 }, ok_response: { headers: [header("__proto__", "p1")] } } };
    case "Bearer crlf":
      return { response: { status: { code: 0 }, ok_response: { headers: [header("x-user-id", "alice\r\nx-injected: 1")] } } };
    case "Bearer odd-status":
      return { response: { status: { code: status.PERMISSION_DENIED }, denied_response: { status: { code: 42 } } } };
    default:
      return { response: { status: { code: 0 } } };
  }
}

/**
 * `tls`: serve over TLS with this certificate and key (the gateway then needs a
 * BackendTLSPolicy); with `clientCa`, only to callers presenting a certificate it signed.
 */
export async function startGrpcAuthzService(tls?: { readonly cert: Buffer; readonly key: Buffer; readonly clientCa?: Buffer }): Promise<GrpcAuthzService> {
  const definition = loadSync(PROTO, { keepCase: true, longs: Number, enums: Number, defaults: true });
  const loaded = loadPackageDefinition(definition) as GrpcObject;
  const auth = ((loaded["envoy"] as GrpcObject)["service"] as GrpcObject)["auth"] as GrpcObject;
  const declared = ((auth["v3"] as GrpcObject)["Authorization"] as ServiceClientConstructor).service;
  const check = declared["Check"]!;
  const service = { Check: { ...check, responseSerialize: (value: unknown) => (value === NOT_A_CHECK_RESPONSE ? Buffer.from([0xff]) : check.responseSerialize(value)) } };
  const seen: SeenCheck[] = [];
  const server = new Server();
  server.addService(service, {
    Check(call: ServerUnaryCall<DecodedCheckRequest, unknown>, callback: sendUnaryData<unknown>) {
      const metadata: Record<string, string> = {};
      for (const [key, value] of Object.entries(call.metadata.getMap())) metadata[key] = String(value);
      const deadline = call.getDeadline();
      const cn = call.getAuthContext()?.sslPeerCertificate?.subject?.CN;
      const peerCommonName = Array.isArray(cn) ? cn.join(",") : cn;
      const record: SeenCheck = { request: call.request, metadata, deadlineMs: deadline instanceof Date ? deadline.getTime() : deadline, receivedAtMs: Date.now(), cancelledAtMs: undefined, peerCommonName };
      seen.push(record);
      call.on("cancelled", () => (record.cancelledAtMs = Date.now()));
      const sent = call.request.attributes.request.http.headers;
      const answer = answerFor(sent["authorization"], sent);
      if (sent["authorization"] === "Bearer headers-then-hang") call.sendMetadata(new Metadata());
      if (answer === undefined) return;
      if ("error" in answer) callback(answer.error, null);
      else callback(null, answer.response);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", tls === undefined ? ServerCredentials.createInsecure() : ServerCredentials.createSsl(tls.clientCa ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], tls.clientCa !== undefined), (error, bound) => (error === null ? resolve(bound) : reject(error))),
  );
  return {
    port,
    seen,
    close: () => {
      server.forceShutdown();
      return Promise.resolve();
    },
  };
}
