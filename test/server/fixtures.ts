// Real upstreams and small config builders for the lifecycle tests.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Upstream {
  readonly name: string;
  readonly port: number;
  /** Requests received so far (paths). */
  readonly received: string[];
  /** From now on, responses wait until `release()`. Resolves each time a held request arrives. */
  hold(): void;
  /** Sends every held response (and stops holding). */
  release(): void;
  /** Resolves once `n` requests are being held. */
  heldCount(n: number): Promise<void>;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1:0 answering `NAME PATH` with `x-upstream: NAME`. */
export async function startUpstream(name: string): Promise<Upstream> {
  const received: string[] = [];
  let holding = false;
  let held: (() => void)[] = [];
  let heldWaiters: { n: number; resolve: () => void }[] = [];
  const answer = (req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, { "content-type": "text/plain", "x-upstream": name });
    res.end(`${name} ${req.url}`);
  };
  const server: Server = createServer((req, res) => {
    received.push(req.url ?? "");
    req.resume();
    if (!holding) return answer(req, res);
    held.push(() => answer(req, res));
    heldWaiters = heldWaiters.filter((w) => (held.length >= w.n ? (w.resolve(), false) : true));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const upstream: Upstream = {
    name,
    port,
    received,
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      const pending = held;
      held = [];
      for (const send of pending) send();
    },
    heldCount(n) {
      if (held.length >= n) return Promise.resolve();
      return new Promise((resolve) => heldWaiters.push({ n, resolve }));
    },
    async close() {
      upstream.release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return upstream;
}

export interface RouteSpec {
  readonly name: string;
  readonly path: string;
  readonly upstreamPort: number;
  /** Added to every response of this route, to tell plans apart. */
  readonly responseHeader?: { readonly name: string; readonly value: string };
  /** Set on the upstream request (e.g. a secret for the redaction test). */
  readonly requestHeader?: { readonly name: string; readonly value: string };
}

/** A Gateway with HTTP listeners on `ports` and one HTTPRoute + Backend per route. */
export function gatewayConfig(routes: readonly RouteSpec[], ports: readonly number[] = [8080]): string {
  const docs: string[] = [
    [
      "apiVersion: gateway.networking.k8s.io/v1",
      "kind: Gateway",
      "metadata:",
      "  name: edge",
      "  namespace: default",
      "spec:",
      "  gatewayClassName: tollgate",
      "  listeners:",
      ...ports.flatMap((port) => [`    - name: http-${port}`, "      protocol: HTTP", `      port: ${port}`]),
    ].join("\n"),
  ];
  for (const route of routes) {
    const filters: string[] = [];
    if (route.responseHeader !== undefined) {
      filters.push(
        "        - type: ResponseHeaderModifier",
        "          responseHeaderModifier:",
        "            set:",
        `              - name: ${route.responseHeader.name}`,
        `                value: ${JSON.stringify(route.responseHeader.value)}`,
      );
    }
    if (route.requestHeader !== undefined) {
      filters.push(
        "        - type: RequestHeaderModifier",
        "          requestHeaderModifier:",
        "            set:",
        `              - name: ${route.requestHeader.name}`,
        `                value: ${JSON.stringify(route.requestHeader.value)}`,
      );
    }
    docs.push(
      [
        "apiVersion: gateway.networking.k8s.io/v1",
        "kind: HTTPRoute",
        "metadata:",
        `  name: ${route.name}`,
        "  namespace: default",
        "spec:",
        "  parentRefs:",
        "    - name: edge",
        "  rules:",
        "    - matches:",
        "        - path:",
        "            type: PathPrefix",
        `            value: ${route.path}`,
        ...(filters.length > 0 ? ["      filters:", ...filters] : []),
        "      backendRefs:",
        "        - group: gateway.tollgate.dev",
        "          kind: Backend",
        `          name: ${route.name}-backend`,
      ].join("\n"),
      [
        "apiVersion: gateway.tollgate.dev/v1alpha1",
        "kind: Backend",
        "metadata:",
        `  name: ${route.name}-backend`,
        "  namespace: default",
        "spec:",
        "  endpoints:",
        "    - ip:",
        "        address: 127.0.0.1",
        `        port: ${route.upstreamPort}`,
      ].join("\n"),
    );
  }
  return docs.join("\n---\n") + "\n";
}

/** Reads one sample value from a Prometheus text exposition; undefined when absent. */
export function sampleValue(exposition: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  for (const line of exposition.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)/.exec(line);
    if (match === null || match[1] !== name) continue;
    const present = new Map<string, string>();
    for (const pair of (match[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) present.set(pair[1] ?? "", pair[2] ?? "");
    if (Object.entries(labels).every(([k, v]) => present.get(k) === v)) return Number(match[4]);
  }
  return undefined;
}
