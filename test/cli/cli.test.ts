// The `tollgate` command line as a user meets it: real processes, real files.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CLI_ENTRY, REPO_ROOT } from "../support/gateway-process.ts";

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runNode(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<Result> {
  return runProcess(process.execPath, args, env);
}

function runProcess(command: string, args: readonly string[], env: Record<string, string | undefined> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, TOLLGATE_CONFIG: undefined, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const tollgate = (...args: string[]): Promise<Result> => runNode([CLI_ENTRY, ...args]);

const pkg = JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "tollgate-cli-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("tollgate --version / --help", () => {
  it("prints the package version", async () => {
    const r = await tollgate("--version");
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `tollgate ${pkg.version}\n`);
  });

  it("lists commands, flags and environment variables", async () => {
    const r = await tollgate("--help");
    assert.equal(r.code, 0);
    for (const word of [
      "tollgate run",
      "tollgate validate",
      "tollgate schema",
      "--config",
      "--workers N|auto",
      "--version",
      "TOLLGATE_CONFIG",
      "TOLLGATE_OPS_ADDR",
      "TOLLGATE_ADMIN_ADDR",
      "TOLLGATE_LISTENER_HOST",
      "TOLLGATE_LISTENER_PORT_OVERRIDE",
      "TOLLGATE_PORTS_FILE",
      "TOLLGATE_DRAIN_GRACE_MS",
      "TOLLGATE_DRAIN_TIMEOUT_MS",
      "SIGHUP",
    ]) {
      assert.ok(r.stdout.includes(word), `--help mentions ${word}`);
    }
    const short = await tollgate("-h");
    assert.equal(short.stdout, r.stdout);
  });
});

describe("usage errors exit 2 with a clear message", () => {
  const cases: [string[], RegExp][] = [
    [["frobnicate"], /unknown command "frobnicate"/],
    [["run", "--no-such-flag"], /run: unknown option --no-such-flag/],
    [["validate", "--config"], /validate: .*--config/],
    [["run", "--workers", "0"], /--workers must be a whole number from 1 to 1024 or "auto", got "0"/],
    [["run", "--workers", "many"], /--workers must be .* got "many"/],
    [["schema", "extra"], /schema: unexpected argument extra/],
    [[], /no command given/],
  ];
  for (const [args, message] of cases) {
    it(`tollgate ${args.join(" ") || "(nothing)"}`, async () => {
      const r = await tollgate(...args);
      assert.equal(r.code, 2);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /Run "tollgate --help" for usage\./);
      assert.equal(r.stdout, "");
    });
  }

  it("a bad environment setting names the variable", async () => {
    const r = await runNode([CLI_ENTRY, "run"], { TOLLGATE_OPS_ADDR: "nonsense" });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /TOLLGATE_OPS_ADDR="nonsense": expected host:port/);
  });

  it("an unknown log level is refused, not read as info", async () => {
    const r = await runNode([CLI_ENTRY, "run"], { TOLLGATE_LOG_LEVEL: "verbose" });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /TOLLGATE_LOG_LEVEL="verbose": expected debug, info, warn, error/);
  });
});

describe("tollgate validate", () => {
  it("accepts the default config/gateway.yaml with exit 0 and no diagnostics", async () => {
    const r = await tollgate("validate", "--config", "config/gateway.yaml");
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /config\/gateway\.yaml: valid \(1 listener port, 2 route rules\)/);
  });

  it("prints every error as FILE:LINE:COL: path: message and exits 1", async () => {
    const file = join(dir, "broken.yaml");
    await writeFile(
      file,
      [
        "apiVersion: gateway.networking.k8s.io/v1", // 1
        "kind: Gateway", // 2
        "metadata:", // 3
        "  name: edge", // 4
        "spec:", // 5
        "  gatewayClassName: tollgate", // 6
        "  listeners:", // 7
        "    - name: http", // 8
        "      protocol: HTTP", // 9
        "      port: 8080", // 10
        "      bogusField: true", // 11
        "---", // 12
        "apiVersion: gateway.networking.k8s.io/v1", // 13
        "kind: HTTPRoute", // 14
        "metadata:", // 15
        "  name: r", // 16
        "spec:", // 17
        "  parentRefs:", // 18
        "    - name: edge", // 19
        "  rules:", // 20
        "    - backendRefs:", // 21
        "        - name: svc", // 22
        "          port: 80", // 23
        "          wieght: 3", // 24
        "---", // 25
        "apiVersion: v1", // 26
        "kind: ConfigMap", // 27
        "metadata:", // 28
        "  name: unrelated", // 29
        "",
      ].join("\n"),
    );
    const r = await tollgate("validate", "--config", file);
    assert.equal(r.code, 1);
    const lines = r.stdout.trimEnd().split("\n");
    for (const line of lines) assert.match(line, /^.+:\d+:\d+: \S+: .+/, `diagnostic format: ${line}`);
    assert.ok(lines.some((l) => l.startsWith(`${file}:11:7: spec.listeners[0].bogusField: unknown field "bogusField"`)), r.stdout);
    assert.ok(lines.some((l) => l.startsWith(`${file}:24:11: spec.rules[0].backendRefs[0].wieght: unknown field "wieght"`)), r.stdout);
    // Info lines are printed too, without changing the verdict.
    assert.ok(lines.some((l) => l.includes("info:") && l.includes("v1/ConfigMap")), r.stdout);
    assert.match(r.stderr, /: 2 errors\n$/);
  });

  it("prints info lines but exits 0 when nothing is an error", async () => {
    const file = join(dir, "with-skipped.yaml");
    const base = await readFile(join(REPO_ROOT, "config/gateway.yaml"), "utf8");
    await writeFile(file, `${base}---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: elsewhere\n`);
    const r = await tollgate("validate", "--config", file);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 1, r.stdout);
    assert.match(lines[0] ?? "", /^.+with-skipped\.yaml:\d+:\d+: -: info: .*apps\/v1\/Deployment/);
  });

  it("reports a missing file as an error with exit 1", async () => {
    const file = join(dir, "does-not-exist.yaml");
    const r = await tollgate("validate", "--config", file);
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:1:1: -: cannot read the config file`));
  });

  it("reports an alias without its anchor, and a file that is not UTF-8, at their line and column", async () => {
    const alias = join(dir, "alias.yaml");
    await writeFile(alias, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: &l {x: y}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, labels: *l}\n");
    const a = await tollgate("validate", "--config", alias);
    assert.equal(a.code, 1);
    assert.match(a.stdout, /alias\.yaml:7:29: -: YAML alias \*l has no anchor &l before it in this document \(hint: anchors do not carry across `---` documents/);
    const latin1 = join(dir, "latin1.yaml");
    await writeFile(latin1, Buffer.concat([Buffer.from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf"), Buffer.from([0xe9]), Buffer.from("}\n")]));
    const l = await tollgate("validate", "--config", latin1);
    assert.equal(l.code, 1);
    assert.match(l.stdout, /latin1\.yaml:3:21: -: the config file is not UTF-8: byte 0xe9 at offset 51 does not decode \(hint: save the file as UTF-8\)/);
  });

  it("refuses a Backend fqdn that is not a host name, without echoing a credential", async () => {
    const file = join(dir, "fqdn.yaml");
    const backend = (hostname: string) => `---\napiVersion: gateway.tollgate.dev/v1alpha1\nkind: Backend\nmetadata: {name: b${hostname.length}}\nspec:\n  endpoints: [{fqdn: {hostname: "${hostname}", port: 80}}]\n`;
    await writeFile(file, backend("http://127.0.0.1") + backend("admin:s3cret@127.0.0.1") + backend("api.internal.example.") + backend("Upstream.Example.com"));
    const r = await tollgate("validate", "--config", file);
    assert.equal(r.code, 1);
    const errors = r.stdout.split("\n").filter((line) => line.includes("fqdn.hostname"));
    assert.equal(errors.length, 2, r.stdout);
    assert.match(errors[0]!, /"http:\/\/127\.0\.0\.1" is not a host name: a hostname has no port/);
    assert.match(errors[1]!, /the value is not a host name/);
    assert.ok(!r.stdout.includes("s3cret"));
  });

  it("takes the file from TOLLGATE_CONFIG when --config is absent", async () => {
    const r = await runNode([CLI_ENTRY, "validate"], { TOLLGATE_CONFIG: join(dir, "nope.yaml") });
    assert.equal(r.code, 1);
    assert.ok(r.stdout.startsWith(join(dir, "nope.yaml")), r.stdout);
  });
});

describe("tollgate schema", () => {
  it("prints a JSON Schema that names the kinds", async () => {
    const r = await tollgate("schema");
    assert.equal(r.code, 0);
    const schema = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(typeof schema["$schema"], "string");
    assert.match(String(schema["$schema"]), /json-schema\.org/);
    for (const kind of ["Gateway", "HTTPRoute", "Backend", "DirectResponse"]) assert.ok(r.stdout.includes(`"${kind}"`), `schema mentions ${kind}`);
  });

  it("reaches a pipe reader that starts reading late whole (the schema is larger than a pipe's buffer)", async () => {
    // A shell pipeline, as `tollgate schema | jq` runs: the reader sleeps before it reads.
    const pipeline = `"${process.execPath}" "${CLI_ENTRY}" schema | (sleep 1; cat)`;
    const r = await runProcess("sh", ["-c", pipeline]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.length > 65_536, `${r.stdout.length} bytes`);
    assert.equal(typeof (JSON.parse(r.stdout) as Record<string, unknown>)["$schema"], "string");
  });

  it("ends quietly with 0 when the reader stops early (`tollgate schema | head`)", async () => {
    // PIPESTATUS is bash's; the pipeline's own status is head's. stderr goes to a file, read after.
    const pipeline = `err=$(mktemp); "${process.execPath}" "${CLI_ENTRY}" schema 2>"$err" | head -c 1; echo; echo "tollgate=\${PIPESTATUS[0]}"; cat "$err"; rm -f "$err"`;
    const r = await runProcess("bash", ["-c", pipeline]);
    assert.equal(r.code, 0, r.stderr);
    const [head, status, ...stderr] = r.stdout.split("\n");
    assert.equal(head, "{");
    assert.equal(status, "tollgate=0");
    assert.deepEqual(stderr.filter((l) => l !== ""), [], "no stack trace");
  });
});

describe("bin/tollgate.js", () => {
  const bin = join(REPO_ROOT, "bin/tollgate.js");
  const fakeNode = (version: string): string =>
    `data:text/javascript,Object.defineProperty(process.versions,"node",{value:"${version}"})`;

  it("runs the CLI", async () => {
    const r = await runNode([bin, "--version"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `tollgate ${pkg.version}\n`);
  });

  it("refuses Node older than 22.19 (undici's floor) with a clear message", async () => {
    const r = await runNode(["--import", fakeNode("22.18.9"), bin, "--version"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Node\.js >= 22\.19\.0 is required, but this is Node\.js 22\.18\.9/);
    assert.equal(r.stdout, "");
  });

  it("accepts Node 22.19 exactly", async () => {
    const r = await runNode(["--import", fakeNode("22.19.0"), bin, "--version"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `tollgate ${pkg.version}\n`);
  });
});
