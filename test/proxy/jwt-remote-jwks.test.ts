// A JWT provider's remote JWKS end to end: a real key server on 127.0.0.1 behind a Backend,
// fetched with the URL's host and path when a token first needs the keys, one fetch for the
// requests that wait on it, kept for cacheDuration and fetched again after, and a fetch that
// fails (an error status, no answer in time, a set with no usable key) answered as Envoy
// answers it, then tried again by the next request; each fetch counted.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import net from "node:net";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type HttpService, startHttpService } from "../support/http-service.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { jwksOf, signToken, signingKey } from "../support/jwt-issuer.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, ref, routeYaml, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";
import { RecordingTelemetry, responseDetailsOf } from "./recording-telemetry.ts";

const first = signingKey("ES256", "k1");
const second = signingKey("ES256", "k2");
/** Per key server path: what it answers with, and the requests it saw. */
const served = new Map<string, { status: number; body: string; delayMs: number }>();
const fetches: { path: string; host: string | undefined }[] = [];

let app: TestUpstream;
let keys: HttpService;
let gw: GatewayUnderTest;
const recorder = new RecordingTelemetry();

const rule = (name: string): string => `    - name: ${name}
      matches: [{path: {type: PathPrefix, value: /${name}}}]
      backendRefs: [${ref("app")}]
`;
const remoteProvider = (name: string, path: string, cache = "5m"): string =>
  `---\napiVersion: gateway.kgateway.dev/v1alpha1\nkind: GatewayExtension\nmetadata: {name: ${name}, namespace: default}\nspec:\n  jwt:\n    providers: [{name: ${name}, issuer: idp, jwks: {remote: {url: "http://login.example${path}", backendRef: {group: gateway.tollgate.dev, kind: Backend, name: keys}, cacheDuration: ${cache}}}}]\n`;
const rulePolicy = (name: string): string => targetedTrafficPolicyYaml(name, "HTTPRoute", "r", `  jwtAuth: {extensionRef: {name: ${name}}}\n`).replace(/targetRefs: .*/, `targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: r, sectionName: ${name}}]`);

before(async () => {
  app = await startUpstream("app");
  keys = await startHttpService((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    fetches.push({ path: req.url!, host: req.headers.host });
    const answer = served.get(req.url!) ?? { status: 404, body: "", delayMs: 0 };
    // A server that never answers holds the request open until the listener closes.
    if (answer.delayMs !== Number.POSITIVE_INFINITY) setTimeout(() => res.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body), answer.delayMs);
  });
  const names = ["cached", "shared", "rotating", "failing", "broken", "silent", "left"];
  gw = await startGateway(
    GATEWAY_YAML +
      backendYaml("app", app.port) +
      backendYaml("keys", keys.port) +
      names.map((n) => remoteProvider(n, `/${n}/jwks.json`, n === "rotating" ? "2s" : "5m")).join("") +
      routeYaml(names.map(rule).join("")) +
      names.map(rulePolicy).join(""),
    recorder,
  );
});

after(async () => {
  await gw.close();
  await keys.close();
  await app.close();
});

const get = (path: string, token?: string) => ask(gw.port, { path, headers: { host: "a.example", ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) } });
const fetchesOf = (name: string): number => fetches.filter((f) => f.path === `/${name}/jwks.json`).length;
const serve = (name: string, status: number, body: string, delayMs = 0): void => void served.set(`/${name}/jwks.json`, { status, body, delayMs });

test("the keys are fetched once a token needs them, with the URL's host and path, and used until cacheDuration ends", async () => {
  serve("cached", 200, jwksOf(first));
  assert.equal((await get("/cached/none")).status, 401);
  assert.equal((await get("/cached/issuer", await signToken(first, { iss: "other" }))).status, 401);
  assert.equal(fetchesOf("cached"), 0, "neither a missing token nor another issuer's needs the keys");
  assert.equal((await get("/cached/a", await signToken(first, { iss: "idp" }))).status, 200);
  assert.equal((await get("/cached/b", await signToken(first, { iss: "idp" }))).status, 200);
  assert.deepEqual(fetches.filter((f) => f.path.startsWith("/cached/")), [{ path: "/cached/jwks.json", host: "login.example" }]);
});

test("requests that need the keys while they are fetched wait on that one fetch", async () => {
  serve("shared", 200, jwksOf(first), 200);
  const token = await signToken(first, { iss: "idp" });
  const replies = await Promise.all([1, 2, 3, 4, 5].map((i) => get(`/shared/${i}`, token)));
  assert.deepEqual(replies.map((r) => r.status), [200, 200, 200, 200, 200]);
  assert.equal(fetchesOf("shared"), 1);
});

test("after cacheDuration the next token that needs the keys fetches them again, so a rotated key is learnt", async () => {
  serve("rotating", 200, jwksOf(first));
  const firstToken = await signToken(first, { iss: "idp" });
  assert.equal((await get("/rotating/a", firstToken)).status, 200);
  assert.equal((await get("/rotating/a2", firstToken)).status, 200, "kept: the same token again");
  const fetchedAt = Date.now();
  serve("rotating", 200, jwksOf(second));
  const early = await get("/rotating/b", await signToken(second, { iss: "idp" }));
  assert.ok(Date.now() - fetchedAt < 2000, "the second request came within the cache duration");
  assert.equal(early.json()["message"], "JWT authentication failed: Jwks doesn't have key to match kid or alg from Jwt", "the cached keys do not know the new kid yet");
  await sleep(2100 - (Date.now() - fetchedAt));
  assert.equal((await get("/rotating/c", await signToken(second, { iss: "idp" }))).status, 200);
  assert.equal(fetchesOf("rotating"), 2);
  assert.equal((await get("/rotating/d", firstToken)).status, 401, "a token the old keys verified (and the gateway kept) is checked again against the new set");
});

test("a failed fetch is Envoy's 401 for it, and the next request fetches again", async () => {
  serve("failing", 503, "");
  const token = await signToken(first, { iss: "idp" });
  const failed = await get("/failing/a", token);
  assert.equal(failed.status, 401);
  assert.equal(failed.json()["message"], "JWT authentication failed: Jwks remote fetch is failed");
  assert.equal(responseDetailsOf(await recorder.endOf("/failing/a")), "jwt_authn_access_denied{Jwks_remote_fetch_is_failed}");
  serve("failing", 200, jwksOf(first));
  assert.equal((await get("/failing/b", token)).status, 200);
  assert.equal(fetchesOf("failing"), 2);
});

test("a fetched set that is not JSON, or holds no usable key, fails with jwt_verify_lib's words", async () => {
  const token = await signToken(first, { iss: "idp" });
  serve("broken", 200, "<html>");
  assert.equal((await get("/broken/a", token)).json()["message"], "JWT authentication failed: Jwks is an invalid JSON");
  serve("broken", 200, JSON.stringify({ keys: [{ kty: "EC", crv: "P-256", x: "AA", y: "AA" }] }));
  assert.equal((await get("/broken/b", token)).json()["message"], "JWT authentication failed: Jwks doesn't have any valid public key");
  serve("broken", 200, JSON.stringify({ keys: [{ kty: "EC", crv: "P-256", x: "AA", y: "AA" }, first.jwk] }));
  assert.equal((await get("/broken/c", token)).status, 200, "an unusable key is left out; the others verify");
});

test("a key server that does not answer within kgateway's 5 s fails the fetch", async () => {
  serve("silent", 200, jwksOf(first), Number.POSITIVE_INFINITY);
  const started = Date.now();
  const reply = await get("/silent/a", await signToken(first, { iss: "idp" }));
  assert.equal(reply.status, 401);
  assert.equal(reply.json()["message"], "JWT authentication failed: Jwks remote fetch is failed");
  assert.ok(Date.now() - started >= 4900, "it waited for the limit, not less");
});

test("a client that leaves while its token waits for the keys ends its request; the late keys answer no one", async () => {
  serve("left", 200, jwksOf(first), 300);
  const token = await signToken(first, { iss: "idp" });
  const socket = net.connect(gw.port, "127.0.0.1");
  socket.on("error", () => {});
  socket.write(`GET /left/a HTTP/1.1\r\nHost: a.example\r\nAuthorization: Bearer ${token}\r\n\r\n`);
  await sleep(100);
  socket.destroy();
  const ended = await recorder.endOf("/left/a");
  assert.equal(ended.clientAborted, true);
  assert.equal(ended.errorType, "client_aborted");
  await sleep(400);
  assert.equal(fetchesOf("left"), 1, "the fetch went on for the next request's sake");
  assert.equal(app.requests.some((r) => r.url.startsWith("/left/")), false, "nothing was forwarded when the keys came");
  assert.equal((await get("/left/b", token)).status, 200, "the keys it fetched serve the next request");
  assert.equal(fetchesOf("left"), 1);
});

test("every fetch is counted by provider and outcome", () => {
  const counted = Object.fromEntries([...gw.stats.jwksFetches!.entries()].map(([provider, outcome, n]) => [`${provider} ${outcome}`, n]));
  assert.deepEqual(counted, {
    "default/cached/cached success": 1,
    "default/shared/shared success": 1,
    "default/rotating/rotating success": 2,
    "default/failing/failing failure": 1,
    "default/failing/failing success": 1,
    "default/broken/broken failure": 2,
    "default/broken/broken success": 1,
    "default/silent/silent failure": 1,
    "default/left/left success": 1,
  });
});
