// An upstream that verifies client certificates inside OpenSSL, as Envoy and most servers do:
// `openssl s_server` with -verify_return_error refuses an untrusted client certificate with
// a TLS alert. (A Node server checks it in JavaScript after the handshake and just closes
// the connection, so it cannot stand for them.) Answers `GET /` with its status page.
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { once } from "node:events";
import type { Readable } from "node:stream";
import { OPENSSL } from "./test-certs.ts";

export interface OpensslServer {
  readonly port: number;
  close(): Promise<void>;
}

export interface OpensslServerFiles {
  readonly cert: string;
  readonly key: string;
  /** The CA client certificates must chain to. */
  readonly clientCa: string;
}

/** Starts `openssl s_server` on 127.0.0.1, demanding a client certificate; `tls12`: TLS 1.2 at most. */
export async function startOpensslServer(files: OpensslServerFiles, options: { tls12?: boolean } = {}): Promise<OpensslServer> {
  const args = ["s_server", "-accept", "127.0.0.1:0", "-cert", files.cert, "-key", files.key, "-Verify", "2", "-verify_return_error", "-CAfile", files.clientCa, "-www"];
  if (options.tls12 === true) args.push("-no_tls1_3");
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(OPENSSL, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const accept = /^ACCEPT \S+:(\d+)$/m.exec(output);
      if (accept !== null) resolve(Number(accept[1]));
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`openssl s_server exited with ${code}: ${output}`)));
  });
  return {
    port,
    async close() {
      if (child.exitCode !== null) return;
      child.kill();
      await once(child, "exit");
    },
  };
}
