// Bodies stream both ways: SSE event by event, chunked uploads, 100-continue, and 100 MiB
// each way with bounded memory.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import v8 from "node:v8";
import vm from "node:vm";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { GATEWAY_YAML, type GatewayUnderTest, backendYaml, ref, startGateway } from "./harness.ts";

let up: TestUpstream;
let gw: GatewayUnderTest;

before(async () => {
  up = await startUpstream("up");
  gw = await startGateway(`${GATEWAY_YAML}${backendYaml("up", up.port)}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: edge}]
  hostnames: [stream.example.com]
  rules:
    - backendRefs: [${ref("up")}]
`);
});

after(async () => {
  await gw?.close();
  await up?.close();
});

const MiB = 1024 * 1024;

describe("streaming", () => {
  test("SSE events arrive one by one: the first before the upstream sends the second", async () => {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ host: "127.0.0.1", port: gw.port, path: "/sse", headers: { host: "stream.example.com" }, agent: false }, resolve).on("error", reject);
    });
    assert.equal(res.headers["content-type"], "text/event-stream");
    res.setEncoding("utf8");
    const reader = res[Symbol.asyncIterator]();
    let text = "";
    while (!text.includes("\n\n")) text += (await reader.next()).value as string;
    assert.equal(text, "event: one\ndata: first\n\n");
    up.releaseSse();
    let rest = "";
    for (;;) {
      const next = await reader.next();
      if (next.done) break;
      rest += next.value as string;
    }
    assert.equal(rest, "event: two\ndata: second\n\n");
  });

  test("a chunked upload streams through as chunked", async () => {
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        { host: "127.0.0.1", port: gw.port, method: "POST", path: "/echo-chunked", headers: { host: "stream.example.com" }, agent: false },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (body += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      req.write("part one,");
      setTimeout(() => req.end("part two"), 20);
    });
    assert.equal(reply.status, 200);
    const echoed = JSON.parse(reply.body) as { bodyBytes: number; headers: Record<string, string> };
    assert.equal(echoed.bodyBytes, "part one,part two".length);
    assert.equal(echoed.headers["transfer-encoding"], "chunked");
    assert.equal(echoed.headers["content-length"], undefined);
  });

  test("Expect: 100-continue gets 100 Continue and the body flows", async () => {
    const outcome = await new Promise<{ continued: boolean; status: number; body: string }>((resolve, reject) => {
      let continued = false;
      const req = http.request(
        {
          host: "127.0.0.1",
          port: gw.port,
          method: "PUT",
          path: "/sink",
          headers: { host: "stream.example.com", expect: "100-continue", "content-length": "11" },
          agent: false,
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (body += c));
          res.on("end", () => resolve({ continued, status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      req.on("continue", () => {
        continued = true;
        req.end("hello world");
      });
      req.flushHeaders();
    });
    assert.equal(outcome.continued, true);
    assert.equal(outcome.status, 200);
    assert.equal((JSON.parse(outcome.body) as { bodyBytes: number }).bodyBytes, 11);
    const seen = up.requests.find((r) => r.url === "/sink" && r.method === "PUT")!;
    assert.equal(seen.headers.expect, undefined);
  });

  test("Expect: 100-continue to an unrouted host gets the 404 without 100 Continue", async () => {
    const outcome = await new Promise<{ continued: boolean; status: number }>((resolve, reject) => {
      let continued = false;
      const req = http.request(
        { host: "127.0.0.1", port: gw.port, method: "PUT", path: "/x", headers: { host: "nowhere.test", expect: "100-continue", "content-length": "5" }, agent: false },
        (res) => {
          res.resume();
          res.on("end", () => resolve({ continued, status: res.statusCode ?? 0 }));
        },
      );
      req.on("error", reject);
      req.on("continue", () => {
        continued = true;
        req.end("hello");
      });
      req.flushHeaders();
    });
    assert.equal(outcome.status, 404);
    assert.equal(outcome.continued, false);
  });

  test("100 MiB up and 100 MiB down stream through with bounded memory", async () => {
    const total = 100 * MiB;
    const meter = new MemoryMeter();
    const uploaded = await upload(gw.port, total, meter);
    assert.equal(uploaded, total);
    const downloaded = await download(gw.port, total, meter);
    assert.equal(downloaded, total);
    assert.ok(meter.samples >= 20, `sampled ${meter.samples} times`);
    // Client, proxy and upstream share this process: every one of them must stream. A full
    // GC before each sample leaves only what is really held, not garbage awaiting collection.
    const retained = meter.peakRetained / MiB;
    const rss = meter.peakRss / MiB;
    assert.ok(retained < 64, `heap + buffers held grew by ${retained.toFixed(1)} MiB while moving 200 MiB`);
    assert.ok(rss < 64, `RSS grew by ${rss.toFixed(1)} MiB while moving 200 MiB`);
  });
});

/** Samples memory after a full GC every few MiB moved. */
class MemoryMeter {
  readonly #gc = exposeGc();
  readonly #baseRetained: number;
  readonly #baseRss: number;
  #sinceSample = 0;
  samples = 0;
  peakRetained = 0;
  peakRss = 0;

  constructor() {
    this.#gc();
    const m = process.memoryUsage();
    this.#baseRetained = m.heapUsed + m.arrayBuffers;
    this.#baseRss = m.rss;
  }

  moved(bytes: number): void {
    this.#sinceSample += bytes;
    if (this.#sinceSample < 8 * MiB) return;
    this.#sinceSample = 0;
    this.#gc();
    const m = process.memoryUsage();
    this.samples++;
    this.peakRetained = Math.max(this.peakRetained, m.heapUsed + m.arrayBuffers - this.#baseRetained);
    this.peakRss = Math.max(this.peakRss, m.rss - this.#baseRss);
  }
}

function exposeGc(): () => void {
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

function upload(port: number, total: number, meter: MemoryMeter): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/sink",
        headers: { host: "stream.example.com", "content-length": String(total) },
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve((JSON.parse(body) as { bodyBytes: number }).bodyBytes));
      },
    );
    req.on("error", reject);
    const chunk = Buffer.alloc(256 * 1024, 98);
    let left = total;
    const pump = (): void => {
      while (left > 0) {
        const size = Math.min(left, chunk.length);
        left -= size;
        meter.moved(size);
        const ok = size === chunk.length ? req.write(chunk) : req.write(chunk.subarray(0, size));
        if (left === 0) {
          req.end();
          return;
        }
        if (!ok) {
          req.once("drain", pump);
          return;
        }
      }
    };
    pump();
  });
}

function download(port: number, total: number, meter: MemoryMeter): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: `/bytes/${total}`, headers: { host: "stream.example.com" }, agent: false }, (res) => {
        let received = 0;
        res.on("data", (c: Buffer) => {
          received += c.length;
          meter.moved(c.length);
        });
        res.on("end", () => resolve(received));
        res.on("error", reject);
      })
      .on("error", reject);
  });
}
