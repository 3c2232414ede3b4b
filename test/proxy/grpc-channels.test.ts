// GrpcChannels' bookkeeping, on real grpc-js channels (none of them needs to connect): one
// kept channel per endpoint, and a transient one for an endpoint the last reload dropped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GrpcChannels } from "../../src/proxy/grpc-channels.ts";
import { endpointOrigin } from "../../src/plan/backends.ts";

const endpoint = (port: number) => {
  const origin = endpointOrigin("127.0.0.1", port);
  return { host: "127.0.0.1", port, origin, poolKey: origin, tls: undefined, connection: undefined, dnsName: undefined };
};

test("an endpoint keeps one channel; after a reload drops it, each check gets a transient channel that is never kept", () => {
  const channels = new GrpcChannels();
  try {
    const kept = channels.channel(endpoint(1001));
    assert.equal(channels.channel(endpoint(1001)), kept);
    assert.equal(kept.transient, false);

    channels.retain(new Set([endpoint(1002).origin]));
    const afterReload = channels.channel(endpoint(1001));
    assert.notEqual(afterReload, kept, "the dropped endpoint's channel was closed");
    assert.equal(afterReload.transient, true);
    assert.notEqual(channels.channel(endpoint(1001)), afterReload, "a transient channel is not kept");
    afterReload.retire();

    const named = channels.channel(endpoint(1002));
    assert.equal(named.transient, false);
    assert.equal(channels.channel(endpoint(1002)), named);
  } finally {
    channels.close();
  }
  assert.throws(() => channels.channel(endpoint(1002)), /upstream connections are closed/);
});
