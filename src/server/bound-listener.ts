// One bound gateway port: its http.Server plus the bookkeeping a graceful close needs
// (requests in flight, upgraded sockets). Used both for ports a reload removes and for the
// full drain on SIGTERM, so the two behave the same.
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { closeConnectionsAwaitingHeaders } from "../proxy/proxy-protocol.ts";
import { markCutForShutdown } from "../proxy/shutdown-cut.ts";
import type { ListenerHandlers } from "./engine.ts";

export class BoundListener {
  readonly configPort: number;
  readonly host: string;
  #port = 0;
  #server: Server | undefined;
  #inFlight = new Set<ServerResponse>();
  #upgraded = new Set<Duplex>();
  #draining = false;
  #stopped = false;
  #idleWaiters: (() => void)[] = [];

  constructor(configPort: number, host: string) {
    this.configPort = configPort;
    this.host = host;
  }

  get port(): number {
    return this.#port;
  }

  get server(): Server | undefined {
    return this.#server;
  }

  get inFlight(): number {
    return this.#inFlight.size + this.#upgraded.size;
  }

  /**
   * The proxy reports each response's close here (ProxyDeps.responseClosed), so the hot path
   * has one close listener per response, not one for the proxy and one for this tracking.
   */
  readonly responseClosed = (res: ServerResponse): void => {
    this.#inFlight.delete(res);
    this.#settled();
  };

  /**
   * Wraps the proxy's handlers so this listener can see what is in flight. The handlers must
   * have been created with `responseClosed` of this listener.
   */
  track(inner: ListenerHandlers): ListenerHandlers {
    // One listener function per port, not a closure per request: this runs on the hot path.
    const inFlight = this.#inFlight;
    const upgraded = this.#upgraded;
    const settled = (): void => this.#settled();
    function onUpgradedClose(this: Duplex): void {
      upgraded.delete(this);
      settled();
    }
    return {
      request: (req: IncomingMessage, res: ServerResponse) => {
        inFlight.add(res);
        // During a drain every response tells the client to go elsewhere for the next request.
        if (this.#draining) res.setHeader("connection", "close");
        inner.request(req, res);
      },
      upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        upgraded.add(socket);
        socket.on("close", onUpgradedClose);
        inner.upgrade(req, socket, head);
      },
      clientError: (error: Error, socket: Duplex) => inner.clientError(error, socket),
      tlsError: (error: Error) => inner.tlsError(error),
      proxyProtocolError: (reason) => inner.proxyProtocolError(reason),
    };
  }

  async listen(server: Server, port: number): Promise<void> {
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      server.once("error", onError);
      server.listen({ host: this.host, port }, () => {
        server.off("error", onError);
        resolve();
      });
    });
    this.#port = (server.address() as AddressInfo).port;
  }

  /** From step 1 of a drain on: the proxy's health checks answer 503. */
  readonly isDraining = (): boolean => this.#draining;

  /** Step 1 of a close: responses not yet started will carry `Connection: close`. */
  markDraining(): void {
    this.#draining = true;
    for (const res of this.#inFlight) {
      if (!res.headersSent) res.setHeader("connection", "close");
    }
  }

  /** Step 2: refuse new connections and drop keep-alive connections that sit idle. */
  stopAccepting(): void {
    if (this.#stopped || this.#server === undefined) return;
    this.#stopped = true;
    this.#server.close();
    this.#server.closeIdleConnections();
    closeConnectionsAwaitingHeaders(this.#server);
    this.#settled();
  }

  /** Resolves once nothing is in flight, or with false after `timeoutMs`. */
  waitIdle(timeoutMs: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#idleWaiters = this.#idleWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#idleWaiters.push(done);
    });
  }

  /** Last step: whatever is still open is cut, marked so its telemetry does not blame the client. */
  forceClose(): void {
    for (const res of this.#inFlight) markCutForShutdown(res.req.socket);
    for (const socket of this.#upgraded) markCutForShutdown(socket);
    this.#server?.closeAllConnections();
    for (const socket of this.#upgraded) socket.destroy();
  }

  /** Drain this one listener (a port a reload removed): same steps, no grace. */
  async close(timeoutMs: number): Promise<boolean> {
    this.markDraining();
    this.stopAccepting();
    const clean = await this.waitIdle(timeoutMs);
    if (!clean) this.forceClose();
    return clean;
  }

  #settled(): void {
    if (this.#stopped && this.#server !== undefined) {
      // A response that just finished left its keep-alive socket idle; close it now. The
      // deferral lets node detach the response from the socket first.
      setImmediate(() => this.#server?.closeIdleConnections());
    }
    if (this.inFlight !== 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}
