// Resolves one signal's OTLP exporter settings from the environment and the policy file,
// following the OTLP exporter spec:
//   - per-signal variables (OTEL_EXPORTER_OTLP_TRACES_*) beat the generic ones;
//   - the generic ENDPOINT gets `v1/<signal>` appended for HTTP; a per-signal endpoint is
//     used as-is; gRPC endpoints are never changed;
//   - a policy provider endpoint beats both (DESIGN.md: policy > env > spec defaults), but
//     the rest (headers, TLS files, timeout, compression) still comes from the env.
// Every value is resolved here and passed to the SDK exporter explicitly, so the exporter's
// own environment fallback never decides anything differently from what we report.
import { readFileSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";
import type { ExporterTargetModel } from "../../config/model.ts";
import { redactUrlCredentials } from "../../config/url-credentials.ts";
import { envBool, envString, timerMs, type Env } from "../env.ts";
import { resolveOtlpHeaders } from "./otlp-headers.ts";

export type OtlpSignal = "traces" | "metrics" | "logs";
export type OtlpProtocol = "grpc" | "http/protobuf" | "http/json";

export interface OtlpExporterConfig {
  readonly signal: OtlpSignal;
  readonly protocol: OtlpProtocol;
  /** HTTP: the full URL posted to. gRPC: the endpoint (scheme decides TLS when present). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly compression: "gzip" | "none";
  readonly certificate: Buffer | undefined;
  readonly clientCertificate: Buffer | undefined;
  readonly clientKey: Buffer | undefined;
  /** gRPC only: plaintext when the endpoint has no scheme. */
  readonly insecure: boolean;
  /** Why no exporter can be built from these settings (also in `problems`); every export then fails. */
  readonly unusable: string | undefined;
  /** Where the endpoint came from, for warnings and docs. */
  readonly endpointSource: "policy" | "env" | "default";
  /** Problems found while resolving (bad protocol, unreadable files); reported once at start. */
  readonly problems: readonly string[];
  /** Identity of these settings: equal keys can share one exporter. */
  readonly key: string;
}

const SIGNAL_ENV: Record<OtlpSignal, string> = { traces: "TRACES", metrics: "METRICS", logs: "LOGS" };
const DEFAULT_TIMEOUT_MS = 10_000;

export function resolveOtlpExporterConfig(
  env: Env,
  signal: OtlpSignal,
  policyTarget: ExporterTargetModel | undefined,
): OtlpExporterConfig {
  const sig = SIGNAL_ENV[signal];
  /** The variable read for `suffix` (per-signal beats generic) and its value. */
  const read = (suffix: string): { variable: string; value: string | undefined } => {
    const specific = `OTEL_EXPORTER_OTLP_${sig}_${suffix}`;
    const value = envString(env, specific);
    if (value !== undefined) return { variable: specific, value };
    const generic = `OTEL_EXPORTER_OTLP_${suffix}`;
    return { variable: generic, value: envString(env, generic) };
  };
  const pick = (suffix: string): string | undefined => read(suffix).value;
  const problems: string[] = [];

  let protocol: OtlpProtocol;
  if (policyTarget !== undefined) {
    protocol = policyTarget.protocol;
  } else {
    const { variable, value } = read("PROTOCOL");
    const raw = value ?? "http/protobuf";
    if (raw === "grpc" || raw === "http/protobuf" || raw === "http/json") protocol = raw;
    else {
      problems.push(`${variable}: unsupported protocol '${raw}', using http/protobuf`);
      protocol = "http/protobuf";
    }
  }

  const signalPath = `v1/${signal}`;
  let url: string;
  let endpointSource: OtlpExporterConfig["endpointSource"];
  const specific = envString(env, `OTEL_EXPORTER_OTLP_${sig}_ENDPOINT`);
  const generic = envString(env, "OTEL_EXPORTER_OTLP_ENDPOINT");
  if (policyTarget !== undefined) {
    endpointSource = "policy";
    url = protocol === "grpc" ? policyTarget.endpoint : appendSignalPathIfBare(policyTarget.endpoint, signalPath);
  } else if (specific !== undefined) {
    endpointSource = "env";
    url = specific;
  } else if (generic !== undefined) {
    endpointSource = "env";
    url = protocol === "grpc" ? generic : appendSignalPath(generic, signalPath);
  } else {
    endpointSource = "default";
    url = protocol === "grpc" ? "http://localhost:4317" : `http://localhost:4318/${signalPath}`;
  }
  if (!isUsableEndpoint(protocol, url)) {
    problems.push(`OTLP ${signal} endpoint '${redactUrlCredentials(url)}' is not ${protocol === "grpc" ? "a URL" : "an http(s) URL"}; nothing of this signal is exported`);
  }

  const { headers, problems: headerProblems } = resolveOtlpHeaders(env, `OTEL_EXPORTER_OTLP_${sig}_HEADERS`, protocol);
  problems.push(...headerProblems);

  let timeoutMs = DEFAULT_TIMEOUT_MS;
  const timeout = read("TIMEOUT");
  if (timeout.value !== undefined) {
    const n = Number(timeout.value);
    // 0 is "no timeout" (SDK configuration spec); the SDK transports take the timer maximum.
    if (Number.isFinite(n) && n >= 0) timeoutMs = timerMs(n);
    else problems.push(`${timeout.variable}: '${timeout.value}' is not a non-negative number of milliseconds (0 is no timeout)`);
  }

  let compression: "gzip" | "none" = "none";
  const rawCompression = read("COMPRESSION");
  if (rawCompression.value === "gzip") compression = "gzip";
  else if (rawCompression.value !== undefined && rawCompression.value !== "none") {
    problems.push(`${rawCompression.variable}: unsupported '${rawCompression.value}', using none`);
  }

  const readPem = (suffix: string): Buffer | undefined => {
    const { variable, value: file } = read(suffix);
    if (file === undefined) return undefined;
    try {
      return readFileSync(resolvePath(file));
    } catch (err) {
      problems.push(`${variable}: cannot read '${file}' (${(err as Error).message})`);
      return undefined;
    }
  };
  const certificate = readPem("CERTIFICATE");
  const clientCertificate = readPem("CLIENT_CERTIFICATE");
  const clientKey = readPem("CLIENT_KEY");
  if ((clientCertificate === undefined) !== (clientKey === undefined)) {
    problems.push("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and _CLIENT_KEY must be set together; mTLS disabled");
  }
  const insecure =
    envBool(env, `OTEL_EXPORTER_OTLP_${sig}_INSECURE`, false) ||
    (envString(env, `OTEL_EXPORTER_OTLP_${sig}_INSECURE`) === undefined && envBool(env, "OTEL_EXPORTER_OTLP_INSECURE", false));

  // A plaintext endpoint does not use the TLS files (they may be set for every signal while
  // one goes to a plain collector): only an endpoint that uses TLS is refused for them.
  const tls = usesTls(protocol, url, insecure);
  if (!tls) {
    // Files set for this signal, or set for all beside an endpoint set for all (or none): the
    // operator meant TLS, and the exporter would send in the clear without a word.
    const meantForThis = TLS_FILE_SUFFIXES.map(read).filter(
      (r) => r.value !== undefined && (r.variable.startsWith(`OTEL_EXPORTER_OTLP_${sig}_`) || (endpointSource !== "policy" && specific === undefined)),
    );
    if (meantForThis.length > 0) {
      problems.push(
        `${meantForThis.map((r) => r.variable).join(", ")} set, but the ${signal} endpoint '${redactUrlCredentials(url)}' is plaintext; the TLS files are not used (an https:// endpoint uses them)`,
      );
    }
  }
  const tlsProblem = !tls
    ? undefined
    : unusableTlsFiles(
        certificate === undefined ? undefined : { variable: read("CERTIFICATE").variable, pem: certificate },
        clientCertificate === undefined || clientKey === undefined ? undefined : { certificate: clientCertificate, key: clientKey, variables: `${read("CLIENT_CERTIFICATE").variable} and ${read("CLIENT_KEY").variable}` },
      );
  if (tlsProblem !== undefined) problems.push(`${tlsProblem}; nothing of this signal is exported`);

  const key = JSON.stringify([
    signal,
    protocol,
    url,
    headers,
    timeoutMs,
    compression,
    pick("CERTIFICATE") ?? "",
    pick("CLIENT_CERTIFICATE") ?? "",
    pick("CLIENT_KEY") ?? "",
    insecure,
  ]);

  return {
    signal,
    protocol,
    url,
    headers,
    timeoutMs,
    compression,
    certificate,
    clientCertificate: clientKey === undefined ? undefined : clientCertificate,
    clientKey: clientCertificate === undefined ? undefined : clientKey,
    insecure,
    endpointSource,
    unusable: tlsProblem,
    problems,
    key,
  };
}

/**
 * Why the TLS files cannot be used, if they cannot: a CA that is not PEM, or a client
 * certificate and key that do not parse or do not belong together. Exporting without them
 * would trust or present something other than what was configured.
 */
function unusableTlsFiles(
  ca: { variable: string; pem: Buffer } | undefined,
  client: { certificate: Buffer; key: Buffer; variables: string } | undefined,
): string | undefined {
  // Node takes any bytes as a CA list without complaint (and then trusts nothing): the file
  // must hold a certificate in PEM that parses.
  if (ca !== undefined) {
    const problem = caProblem(ca.pem);
    if (problem !== undefined) return `${ca.variable}: not a usable PEM certificate (${problem})`;
  }
  if (client !== undefined) {
    try {
      createSecureContext({ cert: client.certificate, key: client.key });
    } catch (err) {
      return `${client.variables}: not a usable PEM certificate and matching key (${(err as Error).message})`;
    }
  }
  return undefined;
}

function caProblem(pem: Buffer): string | undefined {
  const text = pem.toString("latin1");
  const block = PEM_CERTIFICATE_BEGIN.exec(text);
  if (block === null) return "no -----BEGIN CERTIFICATE----- block";
  // X509Certificate reads the three labels as OpenSSL does (a mismatched END is refused).
  try {
    new X509Certificate(text.slice(block.index));
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The PEM labels Node's CA loader takes for a certificate. */
const PEM_CERTIFICATE_BEGIN = /-----BEGIN (TRUSTED |X509 )?CERTIFICATE-----/;

const TLS_FILE_SUFFIXES = ["CERTIFICATE", "CLIENT_CERTIFICATE", "CLIENT_KEY"] as const;

/**
 * Whether the exporter's transport speaks TLS. HTTP: an https URL. gRPC (the OTLP rule): the
 * scheme decides; without one, OTEL_EXPORTER_OTLP_INSECURE does.
 */
export function usesTls(protocol: OtlpProtocol, url: string, insecure: boolean): boolean {
  const lower = url.trim().toLowerCase();
  if (protocol !== "grpc") return lower.startsWith("https://");
  return !(lower.startsWith("http://") || (!lower.startsWith("https://") && insecure));
}

/** Generic endpoint rule: always append `v1/<signal>` to the configured base path. */
export function appendSignalPath(base: string, signalPath: string): string {
  return base.endsWith("/") ? base + signalPath : `${base}/${signalPath}`;
}

/** Policy endpoints: a bare `scheme://host:port` gets the signal path, a URL with a path is used as written. */
function appendSignalPathIfBare(endpoint: string, signalPath: string): string {
  try {
    const u = new URL(endpoint);
    if (u.pathname === "" || u.pathname === "/") return appendSignalPath(endpoint, signalPath);
  } catch {
    // reported by the caller as not an http(s) URL
  }
  return endpoint;
}

/** Whether the SDK transport for `protocol` can be built for `url` (it throws otherwise). */
export function isUsableEndpoint(protocol: OtlpExporterConfig["protocol"], url: string): boolean {
  if (protocol !== "grpc") return isHttpUrl(url);
  // As the gRPC transport reads it: `host:port` without a scheme is taken as https://.
  const trimmed = url.trim();
  return URL.canParse(/^\w{1,8}:\/\//.test(trimmed) ? trimmed : `https://${trimmed}`);
}

function isHttpUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

/** The endpoint as shown in warnings: never the headers, never credentials in the URL. */
export function displayEndpoint(config: OtlpExporterConfig): string {
  try {
    const u = new URL(config.url);
    u.username = "";
    u.password = "";
    return `${config.protocol} ${u.toString()}`;
  } catch {
    return `${config.protocol} ${redactUrlCredentials(config.url)}`;
  }
}
