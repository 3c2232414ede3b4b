// The client certificate's subject and issuer as %DOWNSTREAM_PEER_SUBJECT% / _ISSUER% print
// them, checked against OpenSSL's own RFC 2253 rendering (`openssl x509 -nameopt RFC2253`,
// what Envoy prints) for names with escapes, multi-valued RDNs and non-ASCII text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { rfc2253Name } from "../../src/telemetry/logs/rfc2253-name.ts";
import { OPENSSL } from "../support/test-certs.ts";

const run = promisify(execFile);

const SUBJECTS = [
  "/CN=workload one",
  "/C=US/O=Acme, Inc/OU=shop/CN=web",
  "/C=US/O=Acme/OU=R+UID=42/L=Zürich/CN=Web.Example",
  '/O=a+b; c "quoted" <x>/CN=#lead \\=eq',
  "/DC=example/DC=com/CN=日本",
];

test("a certificate's subject renders as OpenSSL's RFC 2253 form, escapes, multi-valued RDNs and UTF-8 included", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "tollgate-rfc2253-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const [index, subject] of SUBJECTS.entries()) {
    const file = join(dir, `${index}.crt`);
    await run(OPENSSL, ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(dir, `${index}.key`), "-out", file, "-days", "1", "-utf8", "-multivalue-rdn", "-subj", subject]);
    const { stdout } = await run(OPENSSL, ["x509", "-in", file, "-noout", "-subject", "-nameopt", "RFC2253"]);
    const expected = stdout.trim().replace(/^subject=/, "");
    const certificate = new X509Certificate(await readFile(file));
    assert.equal(rfc2253Name(certificate.subject), expected, subject);
    assert.equal(rfc2253Name(certificate.issuer), expected, `${subject} (self-signed: the issuer is the subject)`);
  }
});
