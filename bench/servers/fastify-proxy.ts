// Scenario: @fastify/http-proxy (undici underneath via @fastify/reply-from), no telemetry.
import Fastify from "fastify";
import proxy from "@fastify/http-proxy";
import { announceReady, guard, requiredArg } from "./guard.ts";

guard();
const upstream = requiredArg("upstream");
const app = Fastify({ logger: false });
await app.register(proxy, { upstream });
await app.listen({ host: "127.0.0.1", port: 0 });
const address = app.server.address();
announceReady({ port: typeof address === "object" && address !== null ? address.port : 0 });
