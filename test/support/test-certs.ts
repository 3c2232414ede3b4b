// Throwaway PKI for TLS tests, made with the system `openssl` at test time: one CA, a server
// certificate for 127.0.0.1 and localhost, and a client certificate for mTLS. Nothing is
// checked in, and every call makes fresh keys in its own temp dir.
//
//   const pki = await createTestPki();
//   t.after(() => pki.remove());
//   ... OTEL_EXPORTER_OTLP_CERTIFICATE = pki.files.ca ...
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The system openssl; a missing binary fails with the command named in the error. */
export const OPENSSL = "openssl";

export interface PemPair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface TestPki {
  readonly dir: string;
  /** Paths of the PEM files, for the OTEL_EXPORTER_OTLP_* variables. */
  readonly files: {
    readonly ca: string;
    readonly serverCert: string;
    readonly serverKey: string;
    readonly clientCert: string;
    readonly clientKey: string;
  };
  readonly ca: Buffer;
  readonly server: PemPair;
  readonly client: PemPair;
  /** The subject CNs, to compare with what a peer presented. */
  readonly names: { readonly ca: string; readonly server: string; readonly client: string };
  remove(): Promise<void>;
}

async function openssl(dir: string, args: readonly string[]): Promise<void> {
  try {
    await run(OPENSSL, args, { cwd: dir });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`openssl ${args.join(" ")} failed: ${e.stderr ?? e.message}`);
  }
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/** A key and a certificate for `cn` (or a whole `/A=b/CN=c` subject), signed by the CA in `dir`, with the given extensions. */
async function issue(dir: string, name: string, cn: string, extensions: string, key: readonly string[] = EC_KEY): Promise<void> {
  await openssl(dir, ["req", ...key, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", cn.startsWith("/") ? cn : `/CN=${cn}`]);
  await writeFile(join(dir, `${name}.ext`), extensions);
  await openssl(dir, [
    "x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
    "-days", "2", "-sha256", "-extfile", `${name}.ext`, "-out", `${name}.crt`,
  ]);
}

export async function createTestPki(prefix = "tollgate-pki-"): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const names = { ca: "Tollgate Test CA", server: "otlp-receiver.test", client: "tollgate-gateway.test" };
  try {
    await openssl(dir, [
      "req", "-x509", ...EC_KEY, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-sha256",
      "-subj", `/CN=${names.ca}`,
      "-addext", "basicConstraints=critical,CA:TRUE",
      "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    await issue(dir, "server", names.server, [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "",
    ].join("\n"));
    await issue(dir, "client", names.client, [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=clientAuth",
      "",
    ].join("\n"));
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const files = {
    ca: join(dir, "ca.crt"),
    serverCert: join(dir, "server.crt"),
    serverKey: join(dir, "server.key"),
    clientCert: join(dir, "client.crt"),
    clientKey: join(dir, "client.key"),
  };
  const [ca, serverCert, serverKey, clientCert, clientKey] = await Promise.all([
    readFile(files.ca),
    readFile(files.serverCert),
    readFile(files.serverKey),
    readFile(files.clientCert),
    readFile(files.clientKey),
  ]);
  return {
    dir,
    files,
    ca,
    server: { cert: serverCert, key: serverKey },
    client: { cert: clientCert, key: clientKey },
    names,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

const RSA_KEY = ["-newkey", "rsa:2048", "-nodes"];

export interface CertificateOptions {
  /** `YYYYMMDDHHMMSSZ`, as openssl ca takes it (default: two days from now). */
  readonly notBefore?: string;
  readonly notAfter?: string;
  /** The key algorithm (default ec, P-256). */
  readonly keyType?: "ec" | "rsa";
  /** URI subjectAltNames (a SPIFFE ID), after the DNS names. */
  readonly uris?: readonly string[];
  /** The subject CN (default: the first DNS name). */
  readonly commonName?: string;
  /** What the certificate is for (default serverAuth). */
  readonly extendedKeyUsage?: "serverAuth" | "clientAuth";
}

/**
 * A server certificate for the DNS names `dnsNames` (the first is its CN), signed by the
 * PKI's CA, valid for two days from now or between the given dates (which may lie in the past).
 */
export async function issueServerCertificate(pki: TestPki, name: string, dnsNames: readonly string[], options: CertificateOptions = {}): Promise<PemPair> {
  const keyArgs = options.keyType === "rsa" ? RSA_KEY : EC_KEY;
  const extensions = [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature",
    `extendedKeyUsage=${options.extendedKeyUsage ?? "serverAuth"}`,
    `subjectAltName=${[...dnsNames.map((n) => `DNS:${n}`), ...(options.uris ?? []).map((u) => `URI:${u}`)].join(",")}`,
    "",
  ].join("\n");
  const commonName = options.commonName ?? dnsNames[0]!;
  if (options.notBefore === undefined || options.notAfter === undefined) await issue(pki.dir, name, commonName, extensions, keyArgs);
  else {
    // `openssl x509 -req` only counts days forward; `openssl ca` takes any dates.
    await openssl(pki.dir, ["req", ...keyArgs, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${commonName}`]);
    await writeFile(join(pki.dir, `${name}.ext`), extensions);
    await writeFile(join(pki.dir, `${name}.index`), "");
    await writeFile(
      join(pki.dir, `${name}.cnf`),
      ["[ca]", "default_ca = test", "[test]", `database = ${name}.index`, "new_certs_dir = .", `serial = ${name}.serial`, "default_md = sha256", "policy = any", "[any]", "commonName = supplied", ""].join("\n"),
    );
    await writeFile(join(pki.dir, `${name}.serial`), "1000\n");
    await openssl(pki.dir, [
      "ca", "-batch", "-notext", "-config", `${name}.cnf`, "-cert", "ca.crt", "-keyfile", "ca.key", "-in", `${name}.csr`,
      "-extfile", `${name}.ext`, "-startdate", options.notBefore, "-enddate", options.notAfter, "-out", `${name}.crt`,
    ]);
  }
  const [cert, key] = await Promise.all([readFile(join(pki.dir, `${name}.crt`)), readFile(join(pki.dir, `${name}.key`))]);
  return { cert, key };
}

/** A client certificate (extendedKeyUsage clientAuth) for the subject CN `commonName` (or a whole `/O=a/CN=b` subject), signed by the PKI's CA, with optional subjectAltNames. */
export async function issueClientCertificate(pki: TestPki, name: string, commonName: string, sans: { readonly uris?: readonly string[]; readonly dnsNames?: readonly string[] } = {}): Promise<PemPair> {
  const names = [...(sans.uris ?? []).map((u) => `URI:${u}`), ...(sans.dnsNames ?? []).map((d) => `DNS:${d}`)];
  const extensions = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature", "extendedKeyUsage=clientAuth", ...(names.length === 0 ? [] : [`subjectAltName=${names.join(",")}`]), ""];
  await issue(pki.dir, name, commonName, extensions.join("\n"));
  const [cert, key] = await Promise.all([readFile(join(pki.dir, `${name}.crt`)), readFile(join(pki.dir, `${name}.key`))]);
  return { cert, key };
}

/** A `---`-led YAML document: the kubernetes.io/tls Secret `namespace/name` holding `pair`. */
export function tlsSecretYaml(name: string, pair: PemPair, namespace = "default"): string {
  return `---
apiVersion: v1
kind: Secret
metadata: {name: ${name}, namespace: ${namespace}}
type: kubernetes.io/tls
data: {tls.crt: ${pair.cert.toString("base64")}, tls.key: ${pair.key.toString("base64")}}
`;
}
