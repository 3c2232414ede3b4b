// Scenario: http-proxy (node-http-proxy) on node:http with a keep-alive agent, no telemetry.
import { createRequire } from "node:module";
import { announceReady, guard, requiredArg } from "./guard.ts";
import { startHttpProxy } from "./http-proxy-server.ts";

guard();
const port = await startHttpProxy(createRequire(import.meta.url), requiredArg("upstream"));
announceReady({ port });
