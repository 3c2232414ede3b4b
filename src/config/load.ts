// The config stage entry point: parse → schema-check every document → resolve references
// and semantics → ResolvedConfig. Every problem in the file is reported at once.
import { open } from "node:fs/promises";
import { resolve as resolvePath } from "node:path";
import type { Diagnostic } from "./diagnostics.ts";
import { formatDiagnostic } from "./diagnostics.ts";
import type { AuthorizationModel, ClientAclModel, CorsModel, CsrfModel, FilterModel, GatewayModel, GatewayPolicies, ListenerModel, PolicyHeaderModifiersModel, ResolvedConfig, RouteModel, RuleModel } from "./model.ts";
import { GatewayExtensions } from "./gateway-extensions.ts";
import { warnGatewayExtAuthReplaced } from "./ext-auth-precedence.ts";
import { ReferenceGrants } from "./reference-grants.ts";
import { BackendResolver } from "./resolve-backends.ts";
import { resolveGateway } from "./resolve-gateways.ts";
import type { GatewayDraft } from "./resolve-gateways.ts";
import { type PolicyResult, resolvePolicies } from "./resolve-policies.ts";
import { listenerScope, throughListener } from "./listener-scope.ts";
import { resolveRoute } from "./resolve-routes.ts";
import type { RouteDraft } from "./resolve-routes.ts";
import { Reporter, byPrecedence, key, precedenceMs } from "./resources.ts";
import type { Resource } from "./resources.ts";
import { checkSchema, findKind } from "./schema-check.ts";
import { skippedKindWarning } from "./skipped-kinds.ts";
import { checkPortSettings } from "./port-settings.ts";
import { SECRET_KIND, TlsSecrets } from "./tls-secrets.ts";
import { SecretStore } from "./secret-store.ts";
import { credentialNames } from "./traffic-api-key-auth.ts";
import { jwtCredentialNames } from "./jwt-providers.ts";
import { ConfigMapStore } from "./config-maps.ts";
import { markCredentialNames, useConfigCredentialHeaders } from "./sensitive.ts";
import { CONFIG_MAP_KIND, CaBundles } from "./ca-bundles.ts";
import { BackendTlsPolicies } from "./backend-tls-policies.ts";
import { BackendConfigPolicies } from "./backend-config-policies.ts";
import { SERVICE_KIND, ServicePorts } from "./service-ports.ts";
import { gatewayParametersEnv } from "./gateway-parameters-env.ts";
import { isIP } from "node:net";
import { hostnameProblem } from "./hostnames.ts";
import { formatPath, parseYamlFile } from "./yaml-source.ts";
import type { ParsedFile, SourceDocument } from "./yaml-source.ts";
import { ClientValidation } from "./client-validation.ts";
import { ListenerTlsOptions } from "./listener-tls-options.ts";
import type { SecretCertificate } from "./secret-certificate.ts";
import { withRetryAndTimeouts } from "./gateway-retry-timeouts.ts";
import { withPolicyUrlRewrite } from "./traffic-url-rewrite.ts";

export interface LoadResult {
  /** undefined when any error was found. */
  readonly config: ResolvedConfig | undefined;
  /** Errors, warnings and infos, in file order within each severity pass. */
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * The largest config file read. Kubernetes caps a ConfigMap at 1 MiB, so a file past this is
 * a mistake (a log or a dump mounted in its place), and parsing it would hold the serving
 * thread during a reload.
 */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

async function readConfigBytes(path: string): Promise<Buffer | { readonly size: number }> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    if (size > MAX_CONFIG_BYTES) return { size };
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

function fileError(file: string, line: number, col: number, message: string, hint: string | undefined): LoadResult {
  return { config: undefined, diagnostics: [{ severity: "error", file, line, col, path: "-", message, hint }] };
}

export async function loadConfigFile(path: string): Promise<LoadResult> {
  let bytes: Buffer;
  try {
    const read = await readConfigBytes(path);
    if (!Buffer.isBuffer(read)) {
      return fileError(path, 1, 1, `the config file is ${read.size} bytes, over the ${MAX_CONFIG_BYTES}-byte limit`, "point --config at the gateway's YAML; a Kubernetes ConfigMap holds at most 1 MiB");
    }
    bytes = read;
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    return fileError(path, 1, 1, `cannot read the config file: ${missing ? "no such file" : ((err as Error).message ?? String(err))}`, missing ? "pass --config FILE or set TOLLGATE_CONFIG" : undefined);
  }
  let text: string;
  try {
    // YAML files are UTF-8 (kubectl refuses anything else); a lenient decode would turn a
    // Latin-1 byte into U+FFFD and a match on it could never fire.
    text = STRICT_UTF8.decode(bytes);
  } catch {
    const { line, col, offset } = firstInvalidUtf8(bytes);
    return fileError(path, line, col, `the config file is not UTF-8: byte 0x${bytes[offset]!.toString(16).padStart(2, "0")} at offset ${offset} does not decode`, "save the file as UTF-8");
  }
  return loadConfigText(text, path, resolvePath(path));
}

/** `fileName` appears in diagnostics as given; `absolutePath` goes to ResolvedConfig.files. */
export function loadConfigText(text: string, fileName: string, absolutePath: string = resolvePath(fileName)): LoadResult {
  const reporter = new Reporter();
  const parsed = parseYamlFile(text, fileName, reporter.diagnostics);
  const resources = collectResources(parsed, reporter);
  const byKind = (kind: string): Resource[] => resources.ok.filter((r) => r.kind === kind).sort(byPrecedence);
  // A header an apiKeyAuth reads keys from is a credential, as Authorization is: for this
  // config's checks now, and (once it loads) in every view, before anything of it is compiled.
  const keyNames = credentialNames(byKind("TrafficPolicy"));
  const tokenNames = jwtCredentialNames(byKind("GatewayExtension"));
  const credentials = { headers: [...keyNames.headers, ...tokenNames.headers], queryParams: [...keyNames.queryParams, ...tokenNames.queryParams] };
  useConfigCredentialHeaders(credentials.headers);
  const grants = new ReferenceGrants(byKind("ReferenceGrant"));
  const caBundles = new CaBundles(resources.configMaps, resources.secrets, reporter);
  const servicePorts = new ServicePorts(resources.services);
  const backendTls = new BackendTlsPolicies(byKind("BackendTLSPolicy"), caBundles, servicePorts, reporter);
  const backendConfigs = new BackendConfigPolicies(byKind("BackendConfigPolicy"), servicePorts, { services: resources.services, backends: byKind("Backend") }, reporter);
  const backendResolver = new BackendResolver(byKind("Backend"), grants, reporter, { tls: backendTls, config: backendConfigs });
  for (const b of byKind("Backend")) checkBackend(b, reporter);
  const configMaps = new ConfigMapStore(resources.configMaps, reporter);
  const extensions = new GatewayExtensions(byKind("GatewayExtension"), backendResolver, configMaps, reporter);
  const directResponses = new Map(byKind("DirectResponse").map((d) => [key(d), d]));

  const gatewayDrafts = new Map<string, GatewayDraft>();
  const secretStore = new SecretStore(resources.secrets, grants, reporter);
  const secrets = new TlsSecrets(secretStore, reporter);
  for (const g of byKind("Gateway")) gatewayDrafts.set(key(g), resolveGateway(g, reporter, secrets, { bundles: caBundles, grants }));
  checkPortTls([...gatewayDrafts.values()], reporter);

  const routeDrafts: RouteDraft[] = byKind("HTTPRoute").map((r) => resolveRoute(r, reporter, gatewayDrafts, backendResolver, directResponses));

  const policies = resolvePolicies(
    {
      telemetryPolicies: byKind("TelemetryPolicy"),
      listenerPolicies: byKind("ListenerPolicy"),
      httpListenerPolicies: byKind("HTTPListenerPolicy"),
      trafficPolicies: byKind("TrafficPolicy"),
    },
    gatewayDrafts,
    routeDrafts,
    backendResolver,
    extensions,
    secretStore,
    reporter,
  );
  checkPortSettings([...gatewayDrafts.values()], policies.settings, policies.proxyProtocolPorts, reporter);
  warnGatewayExtAuthReplaced(routeDrafts, policies.gatewayExternalAuths, reporter);
  // After the policies: Gateways sharing a listener must also agree on their TrafficPolicies.
  warnCrossGatewayConflicts(
    [...gatewayDrafts.values()],
    routeDrafts,
    {
      "rateLimit.local": (gk, l) => throughListener(policies.gatewayRateLimits, gk, l)?.policyName,
      "rateLimit.global": (gk, l) => throughListener(policies.gatewayGlobalRateLimits, gk, l)?.policyName,
      retry: (gk, l) => policyKey(throughListener(policies.gatewayRetries, gk, l)?.policy),
      timeouts: (gk, l) => policyKey(throughListener(policies.gatewayTimeouts, gk, l)?.policy),
      headerModifiers: (gk, l) => throughListener(policies.gatewayHeaderModifiers, gk, l)?.policyName,
      rbac: (gk, l) => throughListener(policies.gatewayAuthorizations, gk, l)?.policy,
      acl: (gk, l) => throughListener(policies.gatewayClientAcls, gk, l)?.policy,
      csrf: (gk, l) => throughListener(policies.gatewayCsrfs, gk, l)?.policy,
      faultInjection: (gk, l) => throughListener(policies.gatewayFaultInjections, gk, l)?.policy,
      compression: (gk, l) => throughListener(policies.gatewayCompressions, gk, l)?.policy,
      cors: (gk, l) => throughListener(policies.gatewayCors, gk, l)?.policy,
      buffer: (gk, l) => bufferPolicyOf(throughListener(policies.gatewayBuffers, gk, l)),
      extAuth: (gk, l) => throughListener(policies.gatewayExternalAuths, gk, l)?.policyName,
      basicAuth: (gk, l) => throughListener(policies.gatewayBasicAuths, gk, l)?.policy,
      apiKeyAuth: (gk, l) => throughListener(policies.gatewayApiKeyAuths, gk, l)?.policy,
      jwtAuth: (gk, l) => throughListener(policies.gatewayJwtAuths, gk, l)?.policy,
    },
    reporter,
  );

  // A ConfigMap or Service a BackendTLSPolicy or a GatewayExtension read is in use, not skipped.
  const isRead = (readable: { kind: "ConfigMap" | "Service"; key: string }): boolean => (readable.kind === "ConfigMap" ? caBundles.readConfigMaps.has(readable.key) || configMaps.read.has(readable.key) : servicePorts.read.has(readable.key));
  const unread = resources.skipped.filter((s) => s.readable === undefined || !isRead(s.readable));
  const skipped = [...new Set(unread.map((s) => s.label))];
  if (unread.length > 0) {
    const first = unread[0]!;
    const pos = parsed.position(first.doc.doc.range[0]);
    reporter.diagnostics.push({
      severity: "info",
      file: fileName,
      line: pos.line,
      col: pos.col,
      path: "-",
      message: `skipped ${unread.length} resource(s) of kinds Tollgate does not implement: ${unread.map((s) => `${s.label} ${s.name}`).join(", ")}`,
      hint: undefined,
    });
  }

  const gateways: GatewayModel[] = [...gatewayDrafts.values()].map((g) => ({
    ref: g.resource.ref,
    gatewayClassName: String(g.resource.spec["gatewayClassName"]),
    listeners: g.listeners,
    settings: policies.settings.get(key(g.resource))!,
    telemetry: policies.telemetry.get(key(g.resource))!,
    backendClientCertificate: g.backendClientCertificate,
    proxyProtocolPorts: policies.proxyProtocolPorts.get(key(g.resource)) ?? [],
    ...gatewayPolicies(policies, key(g.resource), undefined),
    listenerPolicies: listenerPolicies(policies, key(g.resource), g.listeners),
  }));
  const routes: RouteModel[] = routeDrafts
    .filter((d) => d.parents.length > 0)
    .map((d) => ({
      ref: d.resource.ref,
      parents: d.parents,
      hostnames: d.hostnames,
      rules: withRetryAndTimeouts(
        d.resource,
        withPolicyUrlRewrite(
          d.resource,
          withPolicyFilters(d.resource, reporter, d.rules, {
            cors: policies.routeCors.get(key(d.resource)),
            rateLimits: policies.routeRateLimits.get(key(d.resource)),
            headerModifiers: policies.routeHeaderModifiers.get(key(d.resource)),
            authorizations: policies.routeAuthorizations.get(key(d.resource)),
            clientAcls: policies.routeClientAcls.get(key(d.resource)),
            csrfs: policies.routeCsrfs.get(key(d.resource)),
            faultInjections: policies.routeFaultInjections.get(key(d.resource)),
            autoHostRewrites: policies.routeAutoHostRewrites.get(key(d.resource)),
            consistentHashes: policies.routeConsistentHashes.get(key(d.resource)),
            compressions: policies.routeCompressions.get(key(d.resource)),
            buffers: policies.routeBuffers.get(key(d.resource)),
            externalAuths: policies.routeExternalAuths.get(key(d.resource)),
            basicAuths: policies.routeBasicAuths.get(key(d.resource)),
            apiKeyAuths: policies.routeApiKeyAuths.get(key(d.resource)),
            jwtAuths: policies.routeJwtAuths.get(key(d.resource)),
          }),
          policies.routeUrlRewrites.get(key(d.resource)),
          reporter,
        ),
        d.parents,
        {
          routeRetries: policies.routeRetries.get(key(d.resource)),
          routeTimeouts: policies.routeTimeouts.get(key(d.resource)),
          gatewayRetries: policies.gatewayRetries,
          gatewayTimeouts: policies.gatewayTimeouts,
        },
        reporter,
      ),
      tracing: policies.routeTracing.get(key(d.resource)),
    }));

  if (gatewayDrafts.size === 0 && !reporter.hasErrors()) {
    reporter.diagnostics.push({ severity: "warning", file: fileName, line: 1, col: 1, path: "-", message: "the file defines no Gateway, so Tollgate serves nothing", hint: "add a gateway.networking.k8s.io/v1 Gateway with an HTTP listener" });
  }
  const diagnostics = sortDiagnostics(reporter.diagnostics);
  if (diagnostics.some((d) => d.severity === "error")) return { config: undefined, diagnostics };
  markCredentialNames(credentials.headers, credentials.queryParams);
  const config: ResolvedConfig = {
    files: [absolutePath],
    gateways,
    routes,
    backends: [...backendResolver.used.values()],
    skippedKinds: skipped,
    warnings: diagnostics.filter((d) => d.severity === "warning").map(formatDiagnostic),
  };
  return { config, diagnostics };
}

function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  const rank = { error: 0, warning: 1, info: 2 } as const;
  return [...list].sort((a, b) => rank[a.severity] - rank[b.severity] || a.line - b.line || a.col - b.col);
}

interface Skipped {
  readonly label: string;
  readonly name: string;
  readonly doc: SourceDocument;
  /** A v1 ConfigMap or Service (`namespace/name`), which a BackendTLSPolicy may read. */
  readonly readable?: { readonly kind: "ConfigMap" | "Service"; readonly key: string };
}

function collectResources(parsed: ParsedFile, reporter: Reporter): { ok: Resource[]; skipped: Skipped[]; secrets: Resource[]; configMaps: Resource[]; services: Resource[] } {
  const ok: Resource[] = [];
  const skipped: Skipped[] = [];
  const secrets: Resource[] = [];
  const configMaps: Resource[] = [];
  const services: Resource[] = [];
  const seen = new Map<string, Resource>();
  for (const doc of parsed.documents) {
    const pos = (segments: (string | number)[], opts: { atKey?: boolean } = {}) => reporter.at(parsed, doc, segments, opts);
    const push = (segments: (string | number)[], message: string, hint?: string): void => {
      const { line, col } = pos(segments);
      reporter.diagnostics.push({ severity: "error", file: parsed.file, line, col, path: formatPath(segments) || "-", message, hint });
    };
    const v = doc.value;
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      push([], `document ${doc.index + 1} is not a mapping`, "each YAML document must be one Kubernetes-style resource with apiVersion, kind, metadata and spec");
      continue;
    }
    const obj = v as Record<string, unknown>;
    if (typeof obj["apiVersion"] !== "string" || typeof obj["kind"] !== "string") {
      for (const field of ["apiVersion", "kind"]) {
        if (obj[field] === undefined) push([], `document ${doc.index + 1} has no ${field}`, `add ${field}: ... (e.g. ${field === "kind" ? "Gateway" : "gateway.networking.k8s.io/v1"})`);
        else if (typeof obj[field] !== "string") push([field], `${field} must be a string`, undefined);
      }
      continue;
    }
    const apiVersion = obj["apiVersion"];
    const kind = obj["kind"];
    const schema = findKind(apiVersion, kind);
    const metaName = (obj["metadata"] as Record<string, unknown> | undefined)?.["name"];
    let readable: Skipped["readable"];
    if (apiVersion === "v1" && (kind === "Secret" || kind === "ConfigMap" || kind === "Service") && typeof metaName === "string") {
      // Read only once a listener or a BackendTLSPolicy names it (tls-secrets.ts,
      // ca-bundles.ts): other Secrets of a manifest set are none of the gateway's business,
      // and their values must never reach a message.
      const metaNamespace = (obj["metadata"] as Record<string, unknown>)["namespace"];
      const namespace = typeof metaNamespace === "string" ? metaNamespace : "default";
      const { line, col } = pos([]);
      (kind === "Secret" ? secrets : kind === "ConfigMap" ? configMaps : services).push({
        kind,
        apiVersion,
        schema: kind === "Secret" ? SECRET_KIND : kind === "ConfigMap" ? CONFIG_MAP_KIND : SERVICE_KIND,
        name: metaName,
        namespace,
        createdMs: undefined,
        ref: { kind, name: metaName, namespace, creationTimestampMs: precedenceMs(undefined), source: { file: parsed.file, line, col, path: "-" } },
        doc,
        file: parsed,
        spec: {},
      });
      if (kind === "Secret") continue;
      readable = { kind, key: `${namespace}/${metaName}` };
    }
    if (schema === undefined) {
      skipped.push({ label: `${apiVersion}/${kind}`, name: typeof metaName === "string" ? metaName : "(unnamed)", doc, ...(readable === undefined ? {} : { readable }) });
      const warning = skippedKindWarning(apiVersion, kind);
      if (warning !== undefined) {
        const { line, col } = pos([warning.field]);
        reporter.diagnostics.push({ severity: warning.severity, file: parsed.file, line, col, path: warning.field, message: warning.message, hint: warning.hint });
      }
      if (kind === "GatewayParameters") {
        for (const w of gatewayParametersEnv(obj)) {
          const { line, col } = pos(w.segments);
          reporter.diagnostics.push({
            severity: "warning",
            file: parsed.file,
            line,
            col,
            path: formatPath(w.segments),
            message: `GatewayParameters are not applied, so ${w.names.join(", ")} set here do not reach Tollgate`,
            hint: "set these variables on the Tollgate container (deploy/kubernetes/deployment.yaml)",
          });
        }
      }
      continue;
    }
    const problems = checkSchema(schema, obj);
    for (const p of problems) {
      const { line, col } = pos(p.missing ? p.segments.slice(0, -1) as (string | number)[] : (p.segments as (string | number)[]), { atKey: p.atKey });
      reporter.diagnostics.push({ severity: "error", file: parsed.file, line, col, path: formatPath(p.segments), message: p.message, hint: p.hint });
    }
    if (problems.length > 0) {
      const m = obj["metadata"] as Record<string, unknown> | undefined;
      if (typeof m?.["name"] === "string") reporter.broken.add(`${kind}/${typeof m["namespace"] === "string" ? m["namespace"] : "default"}/${m["name"]}`);
      continue;
    }
    const meta = obj["metadata"] as Record<string, unknown>;
    const name = String(meta["name"]);
    const namespace = typeof meta["namespace"] === "string" ? meta["namespace"] : "default";
    let createdMs: number | undefined;
    const ts = meta["creationTimestamp"];
    if (ts !== undefined && ts !== null) {
      createdMs = Date.parse(String(ts instanceof Date ? ts.toISOString() : ts));
      if (Number.isNaN(createdMs)) {
        push(["metadata", "creationTimestamp"], `"${String(ts)}" is not an RFC 3339 timestamp`, "write e.g. 2025-01-31T12:00:00Z");
        continue;
      }
    }
    const { line, col } = pos([]);
    const r: Resource = {
      kind,
      apiVersion,
      schema,
      name,
      namespace,
      createdMs,
      ref: { kind, name, namespace, creationTimestampMs: precedenceMs(createdMs), source: { file: parsed.file, line, col, path: "-" } },
      doc,
      file: parsed,
      spec: obj["spec"] as Record<string, any>,
    };
    const id = `${kind}/${namespace}/${name}`;
    const dup = seen.get(id);
    if (dup !== undefined) {
      push(["metadata", "name"], `duplicate ${kind} ${namespace}/${name} (first defined at line ${dup.ref.source.line})`, "rename one of them or remove the duplicate");
      continue;
    }
    seen.set(id, r);
    ok.push(r);
  }
  return { ok, skipped, secrets, configMaps, services };
}

function checkBackend(b: Resource, reporter: Reporter): void {
  (b.spec["endpoints"] as Record<string, any>[]).forEach((e, i) => {
    const at = ["spec", "endpoints", i];
    const n = (e["fqdn"] !== undefined ? 1 : 0) + (e["ip"] !== undefined ? 1 : 0);
    if (n !== 1) reporter.error(b, at, n === 0 ? "an endpoint needs fqdn or ip" : "an endpoint has either fqdn or ip, not both", "write {fqdn: {hostname, port}} or {ip: {address, port}}");
    if (e["ip"] !== undefined && isIP(String(e["ip"]["address"])) === 0) reporter.error(b, [...at, "ip", "address"], `"${String(e["ip"]["address"])}" is not an IP address`, "use fqdn for host names");
    if (e["fqdn"] !== undefined) {
      const hostname = String(e["fqdn"]["hostname"]);
      // DNS is case-blind and an absolute name's one trailing dot is fine; a URL, a port,
      // userinfo or spaces are not.
      const name = hostname.toLowerCase();
      const problem = name.startsWith("*.") ? "a wildcard names no single host" : hostnameProblem(name.endsWith(".") ? name.slice(0, -1) : name);
      // Never echo what may be a credential (`user:pass@host`).
      const shown = hostname.includes("@") ? "the value" : `"${hostname}"`;
      if (problem !== undefined) reporter.error(b, [...at, "fqdn", "hostname"], `${shown} is not a host name: ${problem}`, "write a DNS name such as api.internal.example, with the port in fqdn.port; use ip for an address");
    }
  });
}

const policyKey = (policy: Resource | undefined): string | undefined => (policy === undefined ? undefined : key(policy));

/** What a Gateway gives the rules served through it, or through `listener` when given (its own policies first). */
function gatewayPolicies(policies: PolicyResult, gatewayKey: string, listener: string | undefined): GatewayPolicies {
  const of = <M>(byScope: ReadonlyMap<string, M | null>): M | undefined => (listener === undefined ? (byScope.get(gatewayKey) ?? undefined) : throughListener(byScope, gatewayKey, listener));
  return {
    rateLimit: of(policies.gatewayRateLimits),
    globalRateLimit: of(policies.gatewayGlobalRateLimits),
    headerModifiers: of(policies.gatewayHeaderModifiers),
    authorization: of(policies.gatewayAuthorizations),
    acl: of(policies.gatewayClientAcls),
    csrf: of(policies.gatewayCsrfs),
    faultInjection: of(policies.gatewayFaultInjections),
    compression: of(policies.gatewayCompressions),
    cors: of(policies.gatewayCors),
    buffer: of(policies.gatewayBuffers),
    externalAuth: of(policies.gatewayExternalAuths),
    basicAuth: of(policies.gatewayBasicAuths),
    apiKeyAuth: of(policies.gatewayApiKeyAuths),
    jwtAuth: of(policies.gatewayJwtAuths),
  };
}

/** The listeners a TrafficPolicy targets by sectionName, with what requests through each get. */
function listenerPolicies(policies: PolicyResult, gatewayKey: string, listeners: readonly ListenerModel[]): ReadonlyMap<string, GatewayPolicies> | undefined {
  const targeted = listeners.filter((l) => policies.targetedListeners.has(listenerScope(gatewayKey, l.name)));
  if (targeted.length === 0) return undefined;
  return new Map(targeted.map((l) => [l.name, gatewayPolicies(policies, gatewayKey, l.name)]));
}

/** By section: the name of the TrafficPolicy that gives a Gateway (by key) that section through one of its listeners. */
type GatewayTrafficPolicies = Readonly<Record<"rateLimit.local" | "rateLimit.global" | "retry" | "timeouts" | "headerModifiers" | "rbac" | "acl" | "csrf" | "faultInjection" | "compression" | "cors" | "buffer" | "extAuth" | "basicAuth" | "apiKeyAuth" | "jwtAuth", (gatewayKey: string, listener: string) => string | undefined>>;

/** What names a Gateway's buffer for the shared-listener check: its policy, or none for `disable: {}` (which buffers nothing). */
function bufferPolicyOf(model: FilterModel | undefined): string | undefined {
  return model?.type === "Buffer" ? model.policyName : undefined;
}

function warnCrossGatewayConflicts(gateways: readonly GatewayDraft[], routes: readonly RouteDraft[], trafficPolicyOf: GatewayTrafficPolicies, reporter: Reporter): void {
  const sharing = new Map<string, { gateway: GatewayDraft; listener: string }[]>();
  const portProtocol = new Map<number, { gateway: GatewayDraft; protocol: string }>();
  for (const g of gateways) {
    g.listeners.forEach((l) => {
      const onPort = portProtocol.get(l.port);
      if (onPort === undefined) portProtocol.set(l.port, { gateway: g, protocol: l.protocol });
      else if (onPort.gateway !== g && onPort.protocol !== l.protocol) {
        const index = (g.resource.spec["listeners"] as { name: string }[]).findIndex((x) => x.name === l.name);
        reporter.error(g.resource, ["spec", "listeners", index, "protocol"], `port ${l.port} serves ${onPort.protocol} for Gateway ${key(onPort.gateway.resource)}; one port cannot also serve ${l.protocol}`, "a port speaks one protocol: move one of the listeners to another port");
      }
      const k = `${l.port}|${l.hostname ?? ""}`;
      const earlier = sharing.get(k) ?? [];
      if (earlier.length === 0) sharing.set(k, earlier);
      const others = earlier.filter((e) => e.gateway !== g);
      earlier.push({ gateway: g, listener: l.name });
      if (others.length === 0) return;
      const index = (g.resource.spec["listeners"] as { name: string }[]).findIndex((x) => x.name === l.name);
      const first = others[0]!.gateway;
      reporter.warn(g.resource, ["spec", "listeners", index], `port ${l.port} hostname ${l.hostname ?? "(any)"} is also served by Gateway ${key(first.resource)}; the two listeners share one route table, where match precedence and then the older route decide`, "give the listeners distinct hostnames or ports");
      // Every earlier Gateway on the listener, not only the first: a third may disagree with the second.
      for (const shared of others) {
        const other = shared.gateway;
        if (!sameClientCertificate(other.backendClientCertificate, g.backendClientCertificate)) {
          // A route on both would reach TLS backends as whichever Gateway the tie-break picked.
          reporter.error(g.resource, ["spec", "listeners", index], `port ${l.port} hostname ${l.hostname ?? "(any)"} is also served by Gateway ${key(other.resource)}, which presents another client certificate to backends (spec.tls.backend)`, "give the listeners distinct hostnames or ports, or both Gateways the same clientCertificateRef");
        }
        // Likewise a parentRef's order would decide which Gateway's TrafficPolicy a route on
        // both gets; a route on one of them gets its own Gateway's.
        const onBoth = routes.find((r) => attachedThrough(r, other, shared.listener) && attachedThrough(r, g, l.name));
        if (onBoth === undefined) continue;
        for (const [section, policyOf] of Object.entries(trafficPolicyOf)) {
          const theirs = policyOf(key(other.resource), shared.listener);
          if (theirs === policyOf(key(g.resource), l.name)) continue;
          reporter.error(
            g.resource,
            ["spec", "listeners", index],
            `port ${l.port} hostname ${l.hostname ?? "(any)"} is also served by Gateway ${key(other.resource)}, ${theirs === undefined ? `which has no ${section}` : `whose ${section} comes from TrafficPolicy ${theirs}`}; HTTPRoute ${key(onBoth.resource)} is on both and would get the ${section} of whichever Gateway the route table picked`,
            `give the listeners distinct hostnames or ports, or target both Gateways with the same TrafficPolicy ${section}`,
          );
        }
      }
    });
  }
}

function attachedThrough(route: RouteDraft, gateway: GatewayDraft, listener: string): boolean {
  return route.parents.some((p) => p.gatewayKey === key(gateway.resource) && (p.listenerNames === undefined || p.listenerNames.includes(listener)));
}

/**
 * One TLS connection carries requests for every listener of its port, and OpenSSL settles
 * its protocol version and cipher before SNI picks a listener: a port checks client
 * certificates one way only, and has one set of `tls.options`. Gateways (and listeners)
 * sharing an HTTPS port must agree.
 */
function checkPortTls(gateways: readonly GatewayDraft[], reporter: Reporter): void {
  const first = new Map<number, { gateway: GatewayDraft; listener: string; validation: ClientValidation | undefined; options: ListenerTlsOptions | undefined }>();
  for (const g of gateways) {
    const reported = new Set<number>();
    const indexOf = (name: string): number => (g.resource.spec["listeners"] as { name: string }[]).findIndex((x) => x.name === name);
    for (const l of g.listeners) {
      if (l.tls === undefined) continue;
      const seen = first.get(l.port);
      if (seen === undefined) {
        first.set(l.port, { gateway: g, listener: l.name, validation: l.tls.clientValidation, options: l.tls.options });
        continue;
      }
      if (!ListenerTlsOptions.same(seen.options, l.tls.options)) {
        const other = seen.gateway === g ? `listener "${seen.listener}"` : `listener "${seen.listener}" of Gateway ${key(seen.gateway.resource)}`;
        reporter.error(g.resource, ["spec", "listeners", indexOf(l.name), "tls", ...(l.tls.options === undefined ? [] : ["options"])], `port ${l.port} is also served by ${other} with other tls.options; a port offers one set of TLS versions and ciphers`, "give every HTTPS listener of the port the same tls.options, or move this one to another port");
      }
      if (seen.gateway !== g && !reported.has(l.port) && !ClientValidation.same(seen.validation, l.tls.clientValidation)) {
        reported.add(l.port);
        const at = g.resource.spec["tls"] === undefined ? ["spec", "listeners", indexOf(l.name)] : ["spec", "tls"];
        reporter.error(g.resource, at, `port ${l.port} is also an HTTPS port of Gateway ${key(seen.gateway.resource)}, which checks client certificates differently there`, "give both Gateways the same spec.tls.frontend validation for this port, or use different ports");
      }
    }
  }
}

function sameClientCertificate(a: SecretCertificate | undefined, b: SecretCertificate | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.certificatePem === b.certificatePem && a.keyPem === b.keyPem;
}


const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/** Where the first byte that is not UTF-8 sits: line and column count the characters before it. */
function firstInvalidUtf8(bytes: Buffer): { line: number; col: number; offset: number } {
  // Grow a valid prefix a character at a time: only an error path, so simplicity wins.
  let offset = 0;
  while (offset < bytes.length) {
    let ok = false;
    for (let len = 1; len <= 4 && offset + len <= bytes.length; len++) {
      try {
        STRICT_UTF8.decode(bytes.subarray(offset, offset + len));
        offset += len;
        ok = true;
        break;
      } catch {
        // try a longer sequence
      }
    }
    if (!ok) break;
  }
  const before = bytes.subarray(0, offset).toString("utf8");
  const lines = before.split("\n");
  return { line: lines.length, col: lines[lines.length - 1]!.length + 1, offset };
}

/** What TrafficPolicies give the rules of one route, by rule index. */
interface RulePolicyFilters {
  readonly cors: ReadonlyMap<number, Extract<FilterModel, { type: "CORS" | "NoCors" }>> | undefined;
  readonly rateLimits: ReadonlyMap<number, readonly FilterModel[]> | undefined;
  readonly headerModifiers: ReadonlyMap<number, PolicyHeaderModifiersModel> | undefined;
  readonly authorizations: ReadonlyMap<number, AuthorizationModel> | undefined;
  readonly clientAcls: ReadonlyMap<number, ClientAclModel> | undefined;
  readonly csrfs: ReadonlyMap<number, CsrfModel> | undefined;
  readonly faultInjections: ReadonlyMap<number, FilterModel> | undefined;
  readonly autoHostRewrites: ReadonlyMap<number, FilterModel> | undefined;
  readonly consistentHashes: ReadonlyMap<number, FilterModel> | undefined;
  readonly compressions: ReadonlyMap<number, FilterModel> | undefined;
  readonly buffers: ReadonlyMap<number, FilterModel> | undefined;
  readonly externalAuths: ReadonlyMap<number, FilterModel> | undefined;
  readonly basicAuths: ReadonlyMap<number, FilterModel> | undefined;
  readonly apiKeyAuths: ReadonlyMap<number, FilterModel> | undefined;
  readonly jwtAuths: ReadonlyMap<number, FilterModel> | undefined;
}

/**
 * A TrafficPolicy's CORS, extAuth, jwtAuth, basicAuth, apiKeyAuth, local rate limit, header modifiers, acl, csrf, fault injection, consistentHash and rbac, as filters of the rules
 * they cover. A rule's own CORS and ExternalAuth filters are the more specific and keep their
 * place (the policy's extAuth is warned about: the rule is checked by its filter's service).
 */
function withPolicyFilters(route: Resource, reporter: Reporter, rules: readonly RuleModel[], from: RulePolicyFilters): readonly RuleModel[] {
  if (Object.values(from).every((byRule) => byRule === undefined)) return rules;
  return rules.map((rule) => {
    const added: FilterModel[] = [];
    // A NoCors (`cors.disable`) is kept too: it keeps the Gateway's cors off the rule.
    const policyCors = from.cors?.get(rule.index);
    if (policyCors !== undefined && !rule.filters.some((f) => f.type === "CORS")) added.push(policyCors);
    const externalAuth = from.externalAuths?.get(rule.index);
    if (externalAuth !== undefined) {
      const own = rule.filters.some((f) => f.type === "ExternalAuth");
      if (!own) added.push(externalAuth);
      else if (externalAuth.type === "ExternalAuth") {
        reporter.warn(route, ["spec", "rules", rule.index, "filters"], `rule ${rule.name ?? rule.index} has an ExternalAuth filter of its own; TrafficPolicy ${externalAuth.policyName}'s extAuth does not apply to it`, "keep one authorization check per rule: remove the filter, or narrow the policy with sectionName");
      }
    }
    const acl = from.clientAcls?.get(rule.index);
    if (acl !== undefined) added.push(acl);
    const autoHostRewrite = from.autoHostRewrites?.get(rule.index);
    if (autoHostRewrite !== undefined) added.push(autoHostRewrite);
    const consistentHash = from.consistentHashes?.get(rule.index);
    if (consistentHash !== undefined) added.push(consistentHash);
    const compression = from.compressions?.get(rule.index);
    if (compression !== undefined) added.push(compression);
    const faultInjection = from.faultInjections?.get(rule.index);
    if (faultInjection !== undefined) added.push(faultInjection);
    const csrf = from.csrfs?.get(rule.index);
    if (csrf !== undefined) added.push(csrf);
    const jwtAuth = from.jwtAuths?.get(rule.index);
    if (jwtAuth !== undefined) added.push(jwtAuth);
    const basicAuth = from.basicAuths?.get(rule.index);
    if (basicAuth !== undefined) added.push(basicAuth);
    const apiKeyAuth = from.apiKeyAuths?.get(rule.index);
    if (apiKeyAuth !== undefined) added.push(apiKeyAuth);
    const authorization = from.authorizations?.get(rule.index);
    if (authorization !== undefined) added.push(authorization);
    const rateLimits = from.rateLimits?.get(rule.index);
    if (rateLimits !== undefined) added.push(...rateLimits);
    const buffer = from.buffers?.get(rule.index);
    if (buffer !== undefined) added.push(buffer);
    // Before the rule's own: the HTTPRoute's header modifiers apply after, and so have the last word.
    const before = from.headerModifiers?.get(rule.index)?.filters ?? [];
    return added.length + before.length === 0 ? rule : { ...rule, filters: [...before, ...rule.filters, ...added] };
  });
}
