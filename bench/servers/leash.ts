// Runs a program the bench did not write (nginx, the gateway) on a leash: the program's
// output goes to a log file, and when our stdin closes, the deadline passes or we get
// SIGTERM/SIGINT, the program gets SIGTERM and, after a grace period, SIGKILL.
// Usage: leash.ts --log FILE [--grace MS] -- COMMAND ARGS...
import { spawn } from "node:child_process";
import { openSync } from "node:fs";
import { announceReady, argValue, guard, requiredArg } from "./guard.ts";

const separator = process.argv.indexOf("--");
const command = separator >= 0 ? process.argv[separator + 1] : undefined;
if (command === undefined) {
  process.stderr.write("usage: leash.ts --log FILE [--grace MS] -- COMMAND ARGS...\n");
  process.exit(2);
}
const log = openSync(requiredArg("log"), "a");
const graceMs = Number(argValue("grace") ?? "5000");
const child = spawn(command, process.argv.slice(separator + 2), { stdio: ["ignore", log, log] });

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  child.kill("SIGTERM");
  setTimeout(() => child.kill("SIGKILL"), graceMs).unref();
};
guard(stop);
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
child.on("error", (error) => {
  process.stderr.write(`leash: ${command}: ${error.message}\n`);
  process.exit(127);
});
child.on("exit", (code, signal) => {
  process.stderr.write(`leash: ${command} exited (code ${code}, signal ${signal})\n`);
  process.exit(code ?? 1);
});
child.on("spawn", () => announceReady({ childPid: child.pid }));
