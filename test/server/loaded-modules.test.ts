// Code a gateway never runs still costs memory: its source stays on the heap and its module
// objects live as long as the process. Two module trees are kept out on purpose, and this
// checks that a real gateway with every telemetry signal exporting over OTLP/gRPC still
// loads neither, from start through proxied requests and exports to its drain:
// - Node's bundled undici (fetch, WebSocket and the rest), which an ES module import of
//   node:http pulls in through the facade's lazy getters (src/proxy/node-http.ts);
// - the index of the undici package, which loads the same kind of code again
//   (src/proxy/undici-core.ts loads only Pool, Client and the connector).
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { httpRequest, startGateway } from "../support/gateway-process.ts";
import { startOtlpReceiver } from "../support/otlp-receiver.ts";
import { startUpstream } from "../support/upstreams.ts";
import { gatewayYaml } from "../telemetry/harness.ts";

const PROBE = fileURLToPath(new URL("../fixtures/loaded-modules-probe.mjs", import.meta.url));

interface LoadedModules {
  readonly builtins: readonly string[];
  readonly commonjs: readonly string[];
}

test("a gateway exporting every signal loads neither Node's bundled undici nor the undici package's index", { timeout: 60_000 }, async (t) => {
  const rx = await startOtlpReceiver("grpc");
  t.after(() => rx.close());
  const upstream = await startUpstream("modules-upstream");
  t.after(() => upstream.close());
  const dir = await mkdtemp(join(tmpdir(), "tollgate-modules-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const modulesFile = join(dir, "modules.json");
  const gw = await startGateway({
    config: gatewayYaml({ upstreamPort: upstream.port }),
    env: {
      // Quoted: NODE_OPTIONS splits on spaces, and a checkout's path may hold one.
      NODE_OPTIONS: `--import=${JSON.stringify(PROBE)}`,
      LOADED_MODULES_FILE: modulesFile,
      OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
      OTEL_TRACES_EXPORTER: "otlp",
      OTEL_LOGS_EXPORTER: "otlp",
      OTEL_METRICS_EXPORTER: "otlp",
      TOLLGATE_TELEMETRY_SHUTDOWN_TIMEOUT_MS: "15000",
    },
  });
  t.after(() => gw.stop());

  for (let i = 0; i < 3; i++) assert.equal((await httpRequest(gw.url(8080, `/api/modules/${i}`))).status, 200);
  gw.signal("SIGTERM");
  assert.deepEqual(await gw.waitForExit(), { code: 0, signal: null });
  assert.ok(rx.spans.length >= 6 && rx.logs.length >= 3, "the exporters ran before the modules were listed");

  const loaded = JSON.parse(await readFile(modulesFile, "utf8")) as LoadedModules;
  // The lists are real: the server and the upstream pool are in them.
  assert.ok(loaded.builtins.includes("NativeModule _http_server"), "node's HTTP server is listed");
  assert.ok(loaded.commonjs.some((file) => file.endsWith(join("undici", "lib", "dispatcher", "pool.js"))), "undici's Pool is listed");
  assert.deepEqual(loaded.builtins.filter((name) => name.includes("internal/deps/undici")), []);
  assert.deepEqual(loaded.commonjs.filter((file) => file.endsWith(join("node_modules", "undici", "index.js"))), []);
});
