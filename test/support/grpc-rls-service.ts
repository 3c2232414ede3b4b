// A rate limit service speaking Envoy's rls gRPC API, on grpc-js (gRPC's official Node
// implementation) with the messages of test/fixtures/rls/rls.proto. It limits for real: each
// distinct descriptor (domain and entries) may be used `limit` times per minute. What else it
// answers is chosen by a descriptor entry keyed `x-scenario` (see `scenarioAnswer`); every
// request it decodes is kept, with its metadata and deadline.
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData, loadPackageDefinition, status, type GrpcObject, type ServiceClientConstructor } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";

const PROTO = fileURLToPath(new URL("../fixtures/rls/rls.proto", import.meta.url));

export interface DecodedRateLimitRequest {
  readonly domain: string;
  readonly descriptors: readonly { readonly entries: readonly { readonly key: string; readonly value: string }[] }[];
}

export interface SeenRateLimitCall {
  readonly request: DecodedRateLimitRequest;
  readonly metadata: Record<string, string>;
  /** The call's deadline as the service received it (epoch ms). */
  readonly deadlineMs: number;
  cancelled: boolean;
}

export interface GrpcRlsService {
  readonly port: number;
  readonly seen: SeenRateLimitCall[];
  close(): Promise<void>;
}

const OK = 1;
const OVER_LIMIT = 2;
const MINUTE = 2;

type Answer = { readonly error: { code: status; details: string } } | { readonly response: Record<string, unknown> } | undefined;

/**
 * - `headers`: OK, with a header for the forwarded request and one given twice for the answer
 * - `body`: OVER_LIMIT with a text body and its content type
 * - `typed-over`: OVER_LIMIT with a content type but no body
 * - `unavailable`: the call fails with UNAVAILABLE
 * - `hang`: never answered
 * - `unknown`: overall code UNKNOWN, which Envoy takes as OK
 * - `crlf`: OK, but a header value holds CR LF
 * - `proto`: OK, setting a header named `__proto__`
 * - `huge-body`: OVER_LIMIT with a body over the 64 KiB the gateway relays
 * - `owned`: OK, with headers the gateway frames or owns beside one it passes on
 * - anything else, or no scenario: counted against the limit
 */
function scenarioAnswer(scenario: string): Answer | "count" {
  const header = (key: string, value: string): Record<string, unknown> => ({ key, value });
  switch (scenario) {
    case "headers":
      return { response: { overall_code: OK, request_headers_to_add: [header("x-rls-tier", "gold")], response_headers_to_add: [header("x-rls-note", "counted"), header("x-rls-note", "again")] } };
    case "body":
      return { response: { overall_code: OVER_LIMIT, response_headers_to_add: [header("content-type", "text/plain"), header("x-rls-why", "burst"), header("x-rls-why", "daily")], raw_body: Buffer.from("slow down, please") } };
    case "typed-over":
      return { response: { overall_code: OVER_LIMIT, response_headers_to_add: [header("content-type", "text/plain"), header("x-rls-why", "burst")] } };
    case "unavailable":
      return { error: { code: status.UNAVAILABLE, details: "redis down" } };
    case "hang":
      return undefined;
    case "unknown":
      return { response: { overall_code: 0 } };
    case "crlf":
      return { response: { overall_code: OK, request_headers_to_add: [header("x-rls-tier", "gold\r\nx-injected: 1")] } };
    case "proto":
      return { response: { overall_code: OK, request_headers_to_add: [header("__proto__", "p1")] } };
    case "huge-body":
      return { response: { overall_code: OVER_LIMIT, raw_body: Buffer.alloc(64 * 1024 + 1, 0x61) } };
    case "owned": {
      const owned = [header("content-length", "999"), header("transfer-encoding", "chunked"), header("connection", "close"), header("host", "evil.example")];
      return { response: { overall_code: OK, request_headers_to_add: [...owned, header("x-rls-tier", "gold")], response_headers_to_add: [...owned.slice(0, 3), header("x-rls-note", "kept")] } };
    }
    default:
      return "count";
  }
}

export async function startGrpcRlsService(limit: number): Promise<GrpcRlsService> {
  const definition = loadSync(PROTO, { keepCase: true, longs: Number, enums: Number, defaults: true });
  const loaded = loadPackageDefinition(definition) as GrpcObject;
  const rls = ((loaded["envoy"] as GrpcObject)["service"] as GrpcObject)["ratelimit"] as GrpcObject;
  const declared = ((rls["v3"] as GrpcObject)["RateLimitService"] as ServiceClientConstructor).service;
  const seen: SeenRateLimitCall[] = [];
  const used = new Map<string, number>();
  const server = new Server();
  server.addService(declared, {
    ShouldRateLimit(call: ServerUnaryCall<DecodedRateLimitRequest, unknown>, callback: sendUnaryData<unknown>) {
      const metadata: Record<string, string> = {};
      for (const [key, value] of Object.entries(call.metadata.getMap())) metadata[key] = String(value);
      const deadline = call.getDeadline();
      const record: SeenRateLimitCall = { request: call.request, metadata, deadlineMs: deadline instanceof Date ? deadline.getTime() : deadline, cancelled: false };
      seen.push(record);
      call.on("cancelled", () => (record.cancelled = true));
      const scenario = call.request.descriptors.flatMap((d) => d.entries).find((e) => e.key === "x-scenario")?.value ?? "";
      const answer = scenarioAnswer(scenario);
      if (answer === undefined) return;
      if (answer !== "count") {
        if ("error" in answer) callback(answer.error, null);
        else callback(null, answer.response);
        return;
      }
      const statuses = call.request.descriptors.map((d, i) => {
        const key = `${call.request.domain} ${JSON.stringify(d.entries)}`;
        const count = (used.get(key) ?? 0) + 1;
        used.set(key, count);
        // The second descriptor's limit is twice the first's, so the least remaining is the first's.
        const allowed = limit * (i + 1);
        return {
          code: count > allowed ? OVER_LIMIT : OK,
          current_limit: { name: `limit-${i}`, requests_per_unit: allowed, unit: MINUTE },
          limit_remaining: Math.max(0, allowed - count),
          duration_until_reset: { seconds: 41, nanos: 500_000_000 },
        };
      });
      const over = statuses.some((s) => s.code === OVER_LIMIT);
      callback(null, { overall_code: over ? OVER_LIMIT : OK, statuses, response_headers_to_add: [{ key: "x-rls-served", value: "yes" }] });
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => (error === null ? resolve(bound) : reject(error))));
  return {
    port,
    seen,
    close: () => {
      server.forceShutdown();
      return Promise.resolve();
    },
  };
}
