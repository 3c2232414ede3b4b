// The CA certificates named in `caCertificateRefs`, by a BackendTLSPolicy (to verify upstreams)
// or a Gateway's `spec.tls.frontend` (to verify clients): the `ca.crt` of a ConfigMap (as
// Gateway API asks) or of a Secret (as Envoy Gateway also allows). Each is read once, and only
// when named. A bad bundle is a warning at its own position, and whatever named it then fails
// closed; the caller says how (CaUse.consequence).
import { X509Certificate } from "node:crypto";
import { type Reporter, type Resource, type Segments, key } from "./resources.ts";
import type { KindSchema } from "./schema.ts";
import { decodeBase64Value, secretValue } from "./tls-secrets.ts";

const CA_KEY = "ca.crt";
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const MAKE_ONE_HINT = `make one with: kubectl create configmap NAME --from-file=${CA_KEY}=ca.pem --dry-run=client -o yaml`;
/** Who reads a bundle, and what follows when it cannot be had (appended to each message). */
export interface CaUse {
  /** The namespace the ref lives in (a ReferenceGrant, if it crosses, was checked by the caller). */
  readonly namespace: string;
  /** E.g. "; the BackendTLSPolicy naming it cannot be used, ...": the rest of the gateway keeps serving, as Gateway API asks. */
  readonly consequence: string;
}

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
  /** Each bundle is read once however many name it; null when unusable (already reported). */
  readonly #read = new Map<string, string | null>();
  /** The consequences each bundle's problem was reported with: a later reader with another one says its own. */
  readonly #reportedFor = new Map<string, Set<string>>();
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

  /** The PEM certificates `ref` (at `at` in `owner`) names; undefined after reporting why there are none. */
  pem(owner: Resource, ref: CaCertificateRef, at: Segments, use: CaUse): string | undefined {
    const warn = (where: Segments, message: string, hint: string): undefined => {
      this.#reporter.warn(owner, where, message + use.consequence, hint);
      return undefined;
    };
    const group = ref.group ?? "";
    if (group !== "" || (ref.kind !== "ConfigMap" && ref.kind !== "Secret")) {
      return warn([...at, "kind"], `CA certificates come from a ConfigMap or a Secret, not ${group === "" ? "" : `${group}/`}${ref.kind}`, `reference {group: "", kind: ConfigMap, name: ...} holding ${CA_KEY}`);
    }
    const named = `${use.namespace}/${ref.name}`;
    const id = `${ref.kind}/${named}`;
    const found = this.#byKindAndKey.get(id);
    if (found === undefined) {
      return warn([...at, "name"], `${ref.kind} ${named} is not in the config file`, `add the ${ref.kind} with the CA certificates under ${CA_KEY}; ${MAKE_ONE_HINT}`);
    }
    if (found.length > 1) {
      return warn([...at, "name"], `the file holds ${found.length} ${ref.kind}s ${named} (lines ${found.map((f) => f.ref.source.line).join(", ")})`, "keep one of them");
    }
    const source = found[0]!;
    let read = this.#read.get(id);
    if (read === undefined) {
      read = this.#readBundle(source, use) ?? null;
      this.#read.set(id, read);
      this.#reportedFor.set(id, new Set([use.consequence]));
      if (ref.kind === "ConfigMap") this.readConfigMaps.add(key(source));
    } else if (read === null && !this.#reportedFor.get(id)!.has(use.consequence)) {
      // Its problem was reported with another reader's consequence: say this one's too.
      this.#reportedFor.get(id)!.add(use.consequence);
      return warn([...at, "name"], `${ref.kind} ${named} cannot be used (see the warning at its line ${source.ref.source.line})`, `fix the ${ref.kind}`);
    }
    return read ?? undefined;
  }

  #readBundle(source: Resource, use: CaUse): string | undefined {
    const warn = (at: Segments, message: string, hint: string): undefined => {
      this.#reporter.warn(source, at, message + use.consequence, hint);
      return undefined;
    };
    const document = source.doc.value as Record<string, unknown>;
    const value =
      source.kind === "Secret"
        ? secretValue(source, document, CA_KEY, this.#reporter, { missingHint: `put the PEM CA certificates under data.${CA_KEY} (base64) or stringData.${CA_KEY}`, severity: "warning", consequence: use.consequence })
        : configMapValue(document, warn);
    if (value === undefined) return undefined;
    const blocks = value.text.match(PEM_CERTIFICATE) ?? [];
    if (blocks.length === 0) return warn(value.at, `${CA_KEY} holds no PEM certificate`, "put the CA certificates here, PEM encoded (-----BEGIN CERTIFICATE-----)");
    const now = Date.now();
    for (const [index, block] of blocks.entries()) {
      let certificate: X509Certificate;
      try {
        certificate = new X509Certificate(block);
      } catch {
        return warn(value.at, `certificate ${index + 1} in ${CA_KEY} does not parse`, "check that the PEM block was copied whole");
      }
      if (Date.parse(certificate.validTo) < now) {
        this.#reporter.warn(source, value.at, `certificate ${index + 1} in ${CA_KEY} (${certificate.subject.replace(/\n/g, ", ")}) expired on ${certificate.validTo}: certificates it issued will not verify`, "renew the CA certificate");
      }
    }
    return blocks.join("\n");
  }
}

/** A ConfigMap's `ca.crt`: PEM text under `data`, or base64 under `binaryData`. */
function configMapValue(document: Record<string, unknown>, warn: (at: Segments, message: string, hint: string) => undefined): { text: string; at: Segments } | undefined {
  for (const field of ["data", "binaryData"]) {
    const values = document[field];
    if (values === undefined) continue;
    if (values === null || typeof values !== "object" || Array.isArray(values)) return warn([field], `${field} must be a mapping of names to strings`, `write ${field}: {${CA_KEY}: ...}`);
  }
  const plain = (document["data"] as Record<string, unknown> | undefined)?.[CA_KEY];
  if (plain !== undefined) {
    if (typeof plain === "string") return { text: plain, at: ["data", CA_KEY] };
    return warn(["data", CA_KEY], `data.${CA_KEY} must be a string (the PEM text)`, "write the PEM text as a YAML block scalar (|)");
  }
  const encoded = (document["binaryData"] as Record<string, unknown> | undefined)?.[CA_KEY];
  if (encoded === undefined) return warn(document["data"] === undefined ? [] : ["data"], `the ConfigMap has no ${CA_KEY}`, `put the PEM CA certificates under data.${CA_KEY}; ${MAKE_ONE_HINT}`);
  const text = typeof encoded === "string" ? decodeBase64Value(encoded) : undefined;
  if (text === undefined) return warn(["binaryData", CA_KEY], `binaryData.${CA_KEY} is not base64`, `put plain PEM under data.${CA_KEY} instead`);
  return { text, at: ["binaryData", CA_KEY] };
}
