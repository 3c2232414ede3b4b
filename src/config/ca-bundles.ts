// The CA certificates a BackendTLSPolicy names in `validation.caCertificateRefs`: the `ca.crt`
// of a ConfigMap (as Gateway API asks) or of a Secret (as Envoy Gateway also allows), in the
// policy's namespace. Each is read once, and only when named. A bad bundle is reported at its
// own position, and its policy then fails closed (see CONSEQUENCE).
import { X509Certificate } from "node:crypto";
import { type Reporter, type Resource, type Segments, key } from "./resources.ts";
import type { KindSchema } from "./schema.ts";
import { decodeBase64Value, secretValue } from "./tls-secrets.ts";

const CA_KEY = "ca.crt";
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const MAKE_ONE_HINT = `make one with: kubectl create configmap NAME --from-file=${CA_KEY}=ca.pem --dry-run=client -o yaml`;
/**
 * A CA that cannot be read fails its policy closed rather than the whole file, as Gateway API
 * asks: the rest of the gateway keeps serving, and the policy's backends are never reached.
 */
const CONSEQUENCE = "; the BackendTLSPolicy naming it cannot be used, and requests to its backends are answered 502 upstream_tls_failed";

/** Stands for core ConfigMaps in the resource list; they have no schema of their own here. */
export const CONFIG_MAP_KIND: KindSchema = { apiVersions: ["v1"], kind: "ConfigMap", spec: {}, description: "Kubernetes ConfigMap: CA certificates for a BackendTLSPolicy" };

export interface CaCertificateRef {
  readonly group?: string;
  readonly kind: string;
  readonly name: string;
}

export class CaBundles {
  readonly #byKindAndKey = new Map<string, Resource[]>();
  readonly #reporter: Reporter;
  /** Each bundle is read once however many policies name it; null when unusable (already reported). */
  readonly #read = new Map<string, string | null>();
  /** `namespace/name` of the ConfigMaps read: they are not reported as skipped. */
  readonly readConfigMaps = new Set<string>();

  constructor(configMaps: readonly Resource[], secrets: readonly Resource[], reporter: Reporter) {
    for (const resource of [...configMaps, ...secrets]) {
      const id = `${resource.kind}/${key(resource)}`;
      const same = this.#byKindAndKey.get(id);
      if (same === undefined) this.#byKindAndKey.set(id, [resource]);
      else same.push(resource);
    }
    this.#reporter = reporter;
  }

  /** The PEM certificates `ref` (at `at` in `policy`) names; undefined after reporting why there are none. */
  pem(policy: Resource, ref: CaCertificateRef, at: Segments): string | undefined {
    const group = ref.group ?? "";
    if (group !== "" || (ref.kind !== "ConfigMap" && ref.kind !== "Secret")) {
      this.#warn(policy, [...at, "kind"], `CA certificates come from a ConfigMap or a Secret, not ${group === "" ? "" : `${group}/`}${ref.kind}`, `reference {group: "", kind: ConfigMap, name: ...} holding ${CA_KEY}`);
      return undefined;
    }
    const id = `${ref.kind}/${policy.namespace}/${ref.name}`;
    const found = this.#byKindAndKey.get(id);
    if (found === undefined) {
      this.#warn(policy, [...at, "name"], `${ref.kind} ${policy.namespace}/${ref.name} is not in the config file`, `add the ${ref.kind} with the CA certificates under ${CA_KEY}; ${MAKE_ONE_HINT}`);
      return undefined;
    }
    if (found.length > 1) {
      this.#warn(policy, [...at, "name"], `the file holds ${found.length} ${ref.kind}s ${policy.namespace}/${ref.name} (lines ${found.map((f) => f.ref.source.line).join(", ")})`, "keep one of them");
      return undefined;
    }
    const source = found[0]!;
    let read = this.#read.get(id);
    if (read === undefined) {
      read = this.#readBundle(source) ?? null;
      this.#read.set(id, read);
      if (ref.kind === "ConfigMap") this.readConfigMaps.add(key(source));
    }
    return read ?? undefined;
  }

  #warn(resource: Resource, at: Segments, message: string, hint: string): void {
    this.#reporter.warn(resource, at, message + CONSEQUENCE, hint);
  }

  #readBundle(source: Resource): string | undefined {
    const document = source.doc.value as Record<string, unknown>;
    const value = source.kind === "Secret" ? secretValue(source, document, CA_KEY, this.#reporter, { missingHint: `put the PEM CA certificates under data.${CA_KEY} (base64) or stringData.${CA_KEY}`, severity: "warning", consequence: CONSEQUENCE }) : this.#configMapValue(source, document);
    if (value === undefined) return undefined;
    const blocks = value.text.match(PEM_CERTIFICATE) ?? [];
    if (blocks.length === 0) {
      this.#warn(source, value.at, `${CA_KEY} holds no PEM certificate`, "put the CA certificates here, PEM encoded (-----BEGIN CERTIFICATE-----)");
      return undefined;
    }
    const now = Date.now();
    for (const [index, block] of blocks.entries()) {
      let certificate: X509Certificate;
      try {
        certificate = new X509Certificate(block);
      } catch {
        this.#warn(source, value.at, `certificate ${index + 1} in ${CA_KEY} does not parse`, "check that the PEM block was copied whole");
        return undefined;
      }
      if (Date.parse(certificate.validTo) < now) {
        this.#reporter.warn(source, value.at, `certificate ${index + 1} in ${CA_KEY} (${certificate.subject.replace(/\n/g, ", ")}) expired on ${certificate.validTo}: upstream certificates it issued will not verify`, "renew the CA certificate");
      }
    }
    return blocks.join("\n");
  }

  #configMapValue(source: Resource, document: Record<string, unknown>): { text: string; at: Segments } | undefined {
    for (const field of ["data", "binaryData"]) {
      const values = document[field];
      if (values === undefined) continue;
      if (values === null || typeof values !== "object" || Array.isArray(values)) {
        this.#warn(source, [field], `${field} must be a mapping of names to strings`, `write ${field}: {${CA_KEY}: ...}`);
        return undefined;
      }
    }
    const plain = (document["data"] as Record<string, unknown> | undefined)?.[CA_KEY];
    if (plain !== undefined) {
      if (typeof plain === "string") return { text: plain, at: ["data", CA_KEY] };
      this.#warn(source, ["data", CA_KEY], `data.${CA_KEY} must be a string (the PEM text)`, "write the PEM text as a YAML block scalar (|)");
      return undefined;
    }
    const encoded = (document["binaryData"] as Record<string, unknown> | undefined)?.[CA_KEY];
    if (encoded === undefined) {
      this.#warn(source, document["data"] === undefined ? [] : ["data"], `the ConfigMap has no ${CA_KEY}`, `put the PEM CA certificates under data.${CA_KEY}; ${MAKE_ONE_HINT}`);
      return undefined;
    }
    const text = typeof encoded === "string" ? decodeBase64Value(encoded) : undefined;
    if (text === undefined) {
      this.#warn(source, ["binaryData", CA_KEY], `binaryData.${CA_KEY} is not base64`, `put plain PEM under data.${CA_KEY} instead`);
      return undefined;
    }
    return { text, at: ["binaryData", CA_KEY] };
  }
}
