// The Go peer serving Envoy's ext_authz and rls APIs on Envoy's own generated types
// (test/peers/ext-authz, built by scripts/build-ext-authz-peer.sh): started on a free port,
// with every JSON line it prints about a call kept in order.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { promisify } from "node:util";

const BUILD_SCRIPT = new URL("../../scripts/build-ext-authz-peer.sh", import.meta.url).pathname;

export interface EnvoyApiPeer {
  readonly port: number;
  /** One parsed line per call, as printed. */
  readonly calls: Record<string, unknown>[];
  stop(): Promise<void>;
}

export async function startEnvoyApiPeer(): Promise<EnvoyApiPeer> {
  const { stdout } = await promisify(execFile)(BUILD_SCRIPT, [], { maxBuffer: 16 * 1024 * 1024 });
  const peer: ChildProcess = spawn(stdout.trim(), [], { stdio: ["ignore", "pipe", "inherit"] });
  const calls: Record<string, unknown>[] = [];
  const lines = createInterface({ input: peer.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    peer.once("exit", (code) => reject(new Error(`ext-authz-peer exited with ${code} before listening`)));
    lines.on("line", (line) => {
      const listening = /^listening (\d+)$/.exec(line);
      if (listening !== null) resolve(Number(listening[1]));
      else calls.push(JSON.parse(line) as Record<string, unknown>);
    });
  });
  return {
    port,
    calls,
    async stop() {
      peer.kill();
      if (peer.exitCode === null) await once(peer, "exit");
    },
  };
}
