// Real upstream servers on 127.0.0.1 for proxy tests. One node:http server answers a set of
// behaviours by path and records what reached it; a `ws` server on the same port echoes
// WebSocket messages. Nothing here is mocked: the proxy talks TCP to these.
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { once } from "node:events";
import { WebSocketServer } from "ws";

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  /** Names and values as they arrived, repeats included. */
  readonly rawHeaders: readonly string[];
  /** Body bytes the upstream read (filled when the body ends). */
  bodyBytes: number;
  /** The connection went away before the upstream finished answering. */
  aborted: boolean;
  readonly remotePort: number;
}

export interface TestUpstream {
  readonly port: number;
  readonly origin: string;
  readonly name: string;
  readonly requests: SeenRequest[];
  /** Resolves the SSE stream's gate so `/sse` sends its second event. */
  releaseSse(): void;
  /** Resolves when a request to `path` (prefix) has been seen `count` times. */
  waitFor(pathPrefix: string, count?: number): Promise<SeenRequest>;
  /** Resolves when some request to `pathPrefix` observed its connection close early. */
  waitForAbort(pathPrefix: string): Promise<SeenRequest>;
  close(): Promise<void>;
}

/**
 * Paths:
 * - `/status/CODE`          answers CODE with a small JSON body
 * - `/flaky/KEY/N/CODE`     answers CODE for the first N requests with KEY, then 200
 * - `/sse`                  event `one`, then waits for releaseSse(), then event `two`
 * - `/slow/MS`              answers after MS milliseconds
 * - `/hang`                 never answers (for timeouts and client aborts)
 * - `/reset-mid-body`       sends headers and part of a body, then destroys the socket
 * - `/bytes/N`              streams N bytes (64 KiB chunks, honouring backpressure)
 * - `/sink`                 reads the request body and answers with its byte count
 * - `/burst/N/MS`           sends N bytes at once, then a tick every 100 ms for MS ms, then ends
 * - `/ticks-then/N/MS`      a tick every 100 ms for MS ms, then N bytes at once, then ends
 * - `/duplex`               answers at once, then sends a tick every 100 ms until the request
 *                           body ends, then its byte count (a full-duplex exchange)
 * - `/hop-by-hop`           answers with hop-by-hop headers (and one named in Connection)
 * - anything else           echoes method, url, headers and body byte count as JSON
 */
export async function startUpstream(name = "upstream"): Promise<TestUpstream> {
  const requests: SeenRequest[] = [];
  const flaky = new Map<string, number>();
  const waiters: { prefix: string; count: number; abort: boolean; resolve: (r: SeenRequest) => void }[] = [];
  let releaseSse: () => void = () => {};
  let sseGate = new Promise<void>((resolve) => (releaseSse = resolve));

  const notify = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      const matching = requests.filter((r) => r.url.startsWith(w.prefix) && (!w.abort || r.aborted));
      if (matching.length >= w.count) {
        waiters.splice(i, 1);
        w.resolve(matching[matching.length - 1]!);
      }
    }
  };

  const server = http.createServer((req, res) => {
    const seen: SeenRequest = {
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      bodyBytes: 0,
      aborted: false,
      remotePort: req.socket.remotePort ?? 0,
    };
    requests.push(seen);
    res.on("close", () => {
      if (!res.writableFinished) {
        seen.aborted = true;
        notify();
      }
    });
    req.on("data", (chunk: Buffer) => (seen.bodyBytes += chunk.length));
    const url = req.url ?? "/";
    const parts = url.split("?")[0]!.split("/");
    notify();

    const json = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "x-upstream": name });
      res.end(text);
    };
    const afterBody = (fn: () => void): void => {
      if (req.readableEnded) fn();
      else req.on("end", fn);
    };

    switch (parts[1]) {
      case "status": {
        afterBody(() => json(Number(parts[2]), { status: Number(parts[2]), upstream: name }));
        return;
      }
      case "flaky": {
        const key = parts[2]!;
        const failures = Number(parts[3]);
        const code = Number(parts[4]);
        // An optional fifth part delays every answer by that many ms.
        const delayMs = Number(parts[5] ?? 0);
        const n = (flaky.get(key) ?? 0) + 1;
        flaky.set(key, n);
        const answer = (): void => json(n <= failures ? code : 200, { attempt: n, upstream: name });
        afterBody(() => {
          if (delayMs <= 0) return answer();
          const timer = setTimeout(answer, delayMs);
          res.on("close", () => clearTimeout(timer));
        });
        return;
      }
      case "sse": {
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        res.write("event: one\ndata: first\n\n");
        void sseGate.then(() => {
          res.end("event: two\ndata: second\n\n");
          sseGate = new Promise<void>((resolve) => (releaseSse = resolve));
        });
        return;
      }
      case "slow": {
        const timer = setTimeout(() => json(200, { slow: Number(parts[2]), upstream: name }), Number(parts[2]));
        res.on("close", () => clearTimeout(timer));
        return;
      }
      case "hang":
        req.resume();
        return;
      case "reset-mid-body": {
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": "100000" });
        res.write(Buffer.alloc(1000, 120), () => setTimeout(() => req.socket.destroy(), 20));
        return;
      }
      case "bytes": {
        streamBytes(res, Number(parts[2]));
        return;
      }
      case "hop-by-hop": {
        afterBody(() => {
          res.setHeader("connection", "x-hop-secret");
          res.setHeader("x-hop-secret", "must not pass");
          res.setHeader("keep-alive", "timeout=5");
          res.setHeader("proxy-authenticate", "Basic realm=upstream");
          res.setHeader("proxy-connection", "keep-alive");
          res.setHeader("x-end-to-end", "passes");
          json(200, { upstream: name });
        });
        return;
      }
      case "burst": {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.write(Buffer.alloc(Number(parts[2]), 98));
        tickThenEnd(res, Number(parts[3]), "end\n");
        return;
      }
      case "ticks-then": {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        tickThenEnd(res, Number(parts[3]), Buffer.alloc(Number(parts[2]), 98));
        return;
      }
      case "duplex": {
        res.writeHead(200, { "content-type": "text/plain" });
        const ticker = setInterval(() => res.write("tick\n"), 100);
        res.on("close", () => clearInterval(ticker));
        afterBody(() => {
          clearInterval(ticker);
          res.end(`bodyBytes ${seen.bodyBytes}\n`);
        });
        return;
      }
      case "sink": {
        afterBody(() => json(200, { bodyBytes: seen.bodyBytes, upstream: name }));
        return;
      }
      default:
        afterBody(() =>
          json(200, { method: req.method, url: req.url, headers: req.headers, bodyBytes: seen.bodyBytes, upstream: name }),
        );
    }
  });

  const wss = new WebSocketServer({ server });
  wss.on("connection", (socket, req) => {
    socket.send(`hello ${req.url} ${req.headers["x-forwarded-for"] ?? ""}`);
    socket.on("message", (data, isBinary) => socket.send(isBinary ? data : `echo: ${data.toString()}`));
  });

  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    name,
    requests,
    releaseSse: () => releaseSse(),
    waitFor(prefix, count = 1) {
      return new Promise((resolve) => {
        waiters.push({ prefix, count, abort: false, resolve });
        notify();
      });
    },
    waitForAbort(prefix) {
      return new Promise((resolve) => {
        waiters.push({ prefix, count: 1, abort: true, resolve });
        notify();
      });
    },
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const CHUNK = Buffer.alloc(64 * 1024, 97);

function streamBytes(res: http.ServerResponse, total: number): void {
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(total) });
  let left = total;
  const pump = (): void => {
    while (left > 0) {
      const size = Math.min(left, CHUNK.length);
      left -= size;
      const ok = res.write(size === CHUNK.length ? CHUNK : CHUNK.subarray(0, size));
      if (!ok) {
        res.once("drain", pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

/** Writes a tick every 100 ms for `ms`, then ends with `last`; stops if the connection goes. */
function tickThenEnd(res: http.ServerResponse, ms: number, last: string | Buffer): void {
  const ticker = setInterval(() => res.write("tick\n"), 100);
  const finish = setTimeout(() => {
    clearInterval(ticker);
    res.end(last);
  }, ms);
  res.on("close", () => {
    clearInterval(ticker);
    clearTimeout(finish);
  });
}

/**
 * A port on 127.0.0.1 that refuses connections. It is taken below 1024, outside the
 * ephemeral range every `listen(0)` draws from: a port that was merely free a moment ago
 * can be handed to another server (this test's own upstream, or one in a test file running
 * in parallel) before the gateway dials it, and the "refused" request then gets a 200.
 */
export async function closedPort(): Promise<number> {
  for (let port = 1; port < 1024; port++) if (await refusesConnections(port)) return port;
  throw new Error("every port below 1024 on 127.0.0.1 accepts connections");
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code === "ECONNREFUSED"));
  });
}
