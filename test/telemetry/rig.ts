// The setup most telemetry tests share, in one call: a real OTLP receiver, a real upstream and
// an in-process gateway between them, each closed when the test ends (in that order, as the
// tests did by hand).
import type { TestContext } from "node:test";
import { startGateway, type GatewayProcess } from "../support/gateway-process.ts";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.ts";
import { gatewayYaml, startTracedGateway, startUpstream, type TracedGateway, type TracedGatewayOptions, type Upstream } from "./harness.ts";

export interface TelemetryRig {
  readonly rx: OtlpReceiver;
  readonly upstream: Upstream;
  readonly gw: TracedGateway;
}

export interface RigOptions {
  /** The receiver's OTLP transport. */
  readonly transport: "grpc" | "http";
  /** The gateway's configuration; by default a Gateway and HTTPRoute to the upstream and nothing else. */
  readonly yaml?: (upstreamPort: number, rx: OtlpReceiver) => string;
  /** The gateway's environment, usually pointing an OTLP exporter at the receiver. */
  readonly env: (rx: OtlpReceiver) => Record<string, string>;
  readonly gateway?: TracedGatewayOptions;
}

export async function startRig(t: TestContext, o: RigOptions): Promise<TelemetryRig> {
  const rx = await startOtlpReceiver(o.transport);
  t.after(() => rx.close());
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const yaml = o.yaml === undefined ? gatewayYaml({ upstreamPort: upstream.port }) : o.yaml(upstream.port, rx);
  const gw = await startTracedGateway(yaml, o.env(rx), o.gateway);
  t.after(() => gw.close());
  return { rx, upstream, gw };
}

export interface ProcessRig {
  readonly rx: OtlpReceiver;
  readonly upstream: Upstream;
  readonly gw: GatewayProcess;
}

/**
 * The same with the gateway as its own process and the default Gateway and HTTPRoute: for
 * what only a real process environment shows (variables read from `process.env`).
 */
export async function startProcessRig(t: TestContext, o: Pick<RigOptions, "transport" | "env">): Promise<ProcessRig> {
  const rx = await startOtlpReceiver(o.transport);
  t.after(() => rx.close());
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const gw = await startGateway({ config: gatewayYaml({ upstreamPort: upstream.port }), env: o.env(rx) });
  t.after(() => gw.stop());
  return { rx, upstream, gw };
}
