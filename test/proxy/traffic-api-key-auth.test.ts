// kgateway TrafficPolicy `apiKeyAuth` end to end, against real upstreams on 127.0.0.1: keys
// from a Secret and from labelled Secrets, each key source (header with its Bearer prefix,
// query parameter, cookie) in order, the key taken off the request unless forwarded, the
// client id upstream, Envoy's 401s and their details, a Gateway's policy and `disable`,
// the ExternalAuth check seeing what the upstream sees, and upgrades.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type GrpcRlsService, startGrpcRlsService } from "../support/grpc-rls-service.ts";
import { type HttpService, startHttpService } from "../support/http-service.ts";
import { type RawUpgradeUpstream, startRawUpgradeUpstream, upgradeHead } from "../support/raw-upgrade.ts";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, ref, routeYaml, startGateway, targetedTrafficPolicyYaml } from "./harness.ts";
import { RecordingTelemetry } from "./recording-telemetry.ts";

const toRule = (name: string): string => `[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: r, sectionName: ${name}}]`;
const rule = (name: string, prefix: string, backend = "app"): string => `    - name: ${name}
      matches: [{path: {type: PathPrefix, value: ${prefix}}}]
      backendRefs: [${ref(backend)}]
`;
const secret = (name: string, entries: Record<string, string>, labels = ""): string =>
  `---\napiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: default${labels === "" ? "" : `, labels: ${labels}`}}\ntype: Opaque\ndata:\n${Object.entries(entries)
    .map(([client, key]) => `  ${client}: ${Buffer.from(key).toString("base64")}\n`)
    .join("")}`;

let app: TestUpstream;
let raw: RawUpgradeUpstream;
let authz: HttpService;
let rls: GrpcRlsService;
const checked: { keyHeader: string | undefined; client: string | undefined; url: string | undefined }[] = [];
let gw: GatewayUnderTest;
const recorder = new RecordingTelemetry();

before(async () => {
  app = await startUpstream("app");
  raw = await startRawUpgradeUpstream();
  rls = await startGrpcRlsService(100);
  authz = await startHttpService((req, res) => {
    req.resume();
    checked.push({ keyHeader: req.headers["x-api-key"] as string | undefined, client: req.headers["x-client-id"] as string | undefined, url: req.url });
    res.writeHead(200).end();
  });
  const sources = "keySources: [{header: x-api-key}, {query: api_key}, {header: authorization, cookie: token}]";
  gw = await startGateway(
    GATEWAY_YAML +
      backendYaml("app", app.port) +
      backendYaml("raw", raw.port) +
      backendYaml("authz", authz.port) +
      backendYaml("rls", rls.port) +
      `---\napiVersion: gateway.kgateway.dev/v1alpha1\nkind: GatewayExtension\nmetadata: {name: limits, namespace: default}\nspec:\n  type: RateLimit\n  rateLimit:\n    grpcService:\n      backendRef: {group: gateway.tollgate.dev, kind: Backend, name: rls}\n    domain: edge\n` +
      routeYaml(
        rule("default-source", "/default") +
          rule("sources", "/sources") +
          rule("forwarded", "/forwarded") +
          rule("selected", "/selected") +
          rule("gateway", "/gateway") +
          rule("exempt", "/exempt") +
          rule("socket", "/switch", "raw") +
          rule("limited", "/limited") +
          rule("rewritten", "/rewritten").replace("      backendRefs:", "      filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /inner}}}]\n      backendRefs:") +
          rule("same-header", "/same-header") +
          rule("both", "/both") +
          rule("keyed-socket", "/switch/keyed", "raw") +
          rule("moved", "/moved").replace("      backendRefs:", "      filters: [{type: RequestRedirect, requestRedirect: {hostname: other.example, statusCode: 302}}]\n      backendRefs:") +
          rule("checked", "/checked").replace("      backendRefs:", `      filters: [{type: ExternalAuth, externalAuth: {protocol: HTTP, backendRef: ${ref("authz")}, http: {allowedHeaders: [x-api-key, x-client-id]}}}]\n      backendRefs:`),
      ) +
      targetedTrafficPolicyYaml("default-source", "HTTPRoute", "r", "  apiKeyAuth: {secretRef: {name: keys}, clientIdHeader: x-client-id}\n").replace(/targetRefs: .*/, `targetRefs: ${toRule("default-source")}`) +
      targetedTrafficPolicyYaml("sources", "HTTPRoute", "r", `  apiKeyAuth: {secretRef: {name: keys}, clientIdHeader: x-client-id, ${sources}}\n`).replace(/targetRefs: .*/, `targetRefs: ${toRule("sources")}`) +
      targetedTrafficPolicyYaml("forwarded", "HTTPRoute", "r", `  apiKeyAuth: {secretRef: {name: keys}, forwardCredential: true, ${sources}}\n`).replace(/targetRefs: .*/, `targetRefs: ${toRule("forwarded")}`) +
      targetedTrafficPolicyYaml("selected", "HTTPRoute", "r", "  apiKeyAuth: {secretSelector: {matchLabels: {team: partners}}, clientIdHeader: x-client-id}\n").replace(/targetRefs: .*/, `targetRefs: ${toRule("selected")}`) +
      targetedTrafficPolicyYaml("edge-keys", "Gateway", "edge", "  apiKeyAuth: {secretRef: {name: edge-keys}, clientIdHeader: x-client-id, keySources: [{header: x-api-key}]}\n") +
      targetedTrafficPolicyYaml("checked", "HTTPRoute", "r", "  apiKeyAuth: {secretRef: {name: keys}, clientIdHeader: x-client-id, keySources: [{query: api_key}]}\n").replace(/targetRefs: .*/, `targetRefs: ${toRule("checked")}`) +
      targetedTrafficPolicyYaml("limited", "HTTPRoute", "r", `  apiKeyAuth: {secretRef: {name: keys}, clientIdHeader: x-client-id, ${sources}}
  rateLimit:
    global:
      extensionRef: {name: limits}
      descriptors:
      - entries: [{type: Header, header: x-client-id}]
      - entries: [{type: Header, header: x-api-key}]
      - entries: [{type: Path}]
  rbac: {action: Deny, policy: {matchExpressions: ["request.query.contains('k-') || request.path.contains('k-')"]}}
`).replace(/targetRefs: .*/, `targetRefs: ${toRule("limited")}`) +
      targetedTrafficPolicyYaml("moved", "HTTPRoute", "r", `  apiKeyAuth: {secretRef: {name: keys}, ${sources}}\n`).replace(/targetRefs: .*/, `targetRefs: ${toRule("moved")}`) +
      targetedTrafficPolicyYaml("rewritten", "HTTPRoute", "r", `  apiKeyAuth: {secretRef: {name: keys}, ${sources}}\n`).replace(/targetRefs: .*/, `targetRefs: ${toRule("rewritten")}`) +
      targetedTrafficPolicyYaml("same-header", "HTTPRoute", "r", "  apiKeyAuth: {secretRef: {name: keys}, keySources: [{header: x-client-id}], clientIdHeader: x-client-id}\n").replace(/targetRefs: .*/, `targetRefs: ${toRule("same-header")}`) +
      targetedTrafficPolicyYaml("both", "HTTPRoute", "r", `  basicAuth: {users: ["ann:{SHA}${createHash("sha1").update("pw").digest("base64")}"]}\n  apiKeyAuth: {secretRef: {name: keys}}\n`).replace(/targetRefs: .*/, `targetRefs: ${toRule("both")}`) +
      targetedTrafficPolicyYaml("keyed-socket", "HTTPRoute", "r", "  apiKeyAuth: {secretRef: {name: keys}, keySources: [{query: api_key}]}\n").replace(/targetRefs: .*/, `targetRefs: ${toRule("keyed-socket")}`) +
      targetedTrafficPolicyYaml("open", "HTTPRoute", "r", "  apiKeyAuth: {disable: {}}\n").replace(/targetRefs: .*/, `targetRefs: ${toRule("exempt")}`) +
      secret("keys", { client1: "k-123", client2: "k-456" }) +
      secret("partner-a", { acme: "p-aaa" }, "{team: partners}") +
      secret("partner-b", { globex: "p-bbb" }, "{team: partners}") +
      secret("unlabelled", { stranger: "p-ccc" }) +
      secret("edge-keys", { edge: "e-999" }),
    recorder,
  );
});

after(async () => {
  await gw.close();
  await raw.close();
  await authz.close();
  await rls.close();
  await app.close();
});

const get = (path: string, headers: Record<string, string> = {}) => ask(gw.port, { path, headers: { host: "a.example", ...headers } });
const seen = (url: string) => app.requests.find((r) => r.url === url);
const details = (path: string): Promise<string> => recorder.detailsOf(path);

test("no key, or an unknown one, is refused with 401 and Envoy's details, and never reaches the upstream", async () => {
  const missing = await get("/default/none");
  assert.equal(missing.status, 401);
  assert.deepEqual(missing.json(), { error: "unauthorized", message: "client authentication failed: the request carries no API key" });
  assert.equal(await details("/default/none"), "missing_api_key");
  const unknown = await get("/default/unknown", { "api-key": "k-999" });
  assert.equal(unknown.status, 401);
  assert.deepEqual(unknown.json(), { error: "unauthorized", message: "client authentication failed: the API key is not known" });
  assert.equal(await details("/default/unknown"), "unkonwn_api_key", "Envoy's own spelling");
  assert.equal(app.requests.filter((r) => r.url.startsWith("/default/")).length, 0);
});

test("the default source is the api-key header; the key is taken off and the client named upstream", async () => {
  assert.equal((await get("/default/ok", { "api-key": "k-456", "x-client-id": "forged" })).status, 200);
  const upstream = seen("/default/ok")!;
  assert.equal(upstream.headers["api-key"], undefined, "the key does not go on (forwardCredential is false by default)");
  assert.equal(upstream.headers["x-client-id"], "client2", "the gateway's client id, not the one the request claimed");
});

test("each source in order: a header (Bearer prefix taken off), a query parameter, a cookie; each taken off when let in", async () => {
  assert.equal((await get("/sources/query?x=1&api_key=k-123&y=2")).status, 200);
  assert.equal(seen("/sources/query?x=1&y=2")?.headers["x-client-id"], "client1", "the query parameter is gone, the rest kept in order");
  assert.equal((await get("/sources/encoded?api%5Fkey=k%2D123")).status, 200, "names and values are read percent-decoded");
  assert.ok(seen("/sources/encoded"), "the only parameter gone, the ? with it");
  assert.equal((await get("/sources/bearer", { authorization: "Bearer k-456" })).status, 200);
  assert.equal(seen("/sources/bearer")!.headers["authorization"], undefined);
  assert.equal((await get("/sources/cookie", { cookie: 'a=1; token="k-123"; b=2' })).status, 200);
  assert.equal(seen("/sources/cookie")!.headers["cookie"], "a=1; b=2");
  const first = await get("/sources/first?api_key=k-123", { "x-api-key": "wrong" });
  assert.equal(first.status, 401, "the first source that holds a key decides; a later right one does not rescue a wrong one");
  assert.equal((await get("/sources/later?api_key=", { "x-api-key": "" })).status, 401, "empty values hold no key");
  assert.equal((await get("/sources/repeat?api_key=&api_key=k-123")).status, 401, "the first value of a repeated parameter is the one read, as Envoy reads it");
  assert.equal((await get("/sources/all?api_key=k-123", { authorization: "Basic abc" })).status, 200);
  assert.equal(seen("/sources/all")!.headers["authorization"], undefined, "every source's header goes, not only the one that held the key");
  assert.equal(await details("/sources/later"), "missing_api_key");
});

test("forwardCredential: true sends the key on in whichever source it came", async () => {
  assert.equal((await get("/forwarded/q?api_key=k-123")).status, 200);
  assert.ok(seen("/forwarded/q?api_key=k-123"));
  assert.equal((await get("/forwarded/h", { "x-api-key": "k-123" })).status, 200);
  assert.equal(seen("/forwarded/h")!.headers["x-api-key"], "k-123");
});

test("secretSelector reads every labelled Secret of the policy's namespace, and only those", async () => {
  assert.equal((await get("/selected/a", { "api-key": "p-aaa" })).status, 200);
  assert.equal(seen("/selected/a")!.headers["x-client-id"], "acme");
  assert.equal((await get("/selected/b", { "api-key": "p-bbb" })).status, 200);
  assert.equal(seen("/selected/b")!.headers["x-client-id"], "globex");
  assert.equal((await get("/selected/c", { "api-key": "p-ccc" })).status, 401);
});

test("a Gateway's apiKeyAuth covers rules whose policy sets none; a route's replaces it, and disable: {} exempts a rule", async () => {
  assert.equal((await get("/gateway/x", { "x-api-key": "e-999" })).status, 200);
  assert.equal(seen("/gateway/x")!.headers["x-client-id"], "edge");
  assert.equal((await get("/gateway/y")).status, 401);
  assert.equal((await get("/default/edge-key", { "api-key": "e-999" })).status, 401, "the route's own keys, not the Gateway's");
  assert.equal((await get("/exempt/anyone")).status, 200);
});

test("the ExternalAuth check sees the request as the upstream will: the client named, the key gone", async () => {
  assert.equal((await get("/checked/x?api_key=k-123&q=1", { "x-api-key": "not a source here" })).status, 200);
  assert.deepEqual(checked.at(-1), { keyHeader: "not a source here", client: "client1", url: "/checked/x?q=1" }, "the query parameter the policy read is gone; a header it does not read stays");
  assert.ok(seen("/checked/x?q=1"));
});

test("a global rate limit and rbac see the request as the upstream will: the gateway's client id, no key", async () => {
  assert.equal((await get("/limited/h", { "x-api-key": "k-123", "x-client-id": "client2" })).status, 200);
  const byHeader = rls.seen.at(-1)!.request.descriptors.map((d) => d.entries.map((e) => `${e.key}=${e.value}`).join(","));
  assert.deepEqual(byHeader, ["x-client-id=client1", "path=/limited/h"], "the client id the key names, not the one the request claimed; the key's header gone, so its descriptor is left out");
  assert.equal((await get("/limited/q?api_key=k-456&page=2")).status, 200, "rbac's Deny on a key in the query did not match: the key is gone from request.query and request.path");
  const byQuery = rls.seen.at(-1)!.request.descriptors.map((d) => d.entries.map((e) => `${e.key}=${e.value}`).join(","));
  assert.deepEqual(byQuery, ["x-client-id=client2", "path=/limited/q?page=2"], "the Path descriptor has no key");
});

test("a path rewrite's X-Envoy-Original-Path carries no key; a clientIdHeader that is also a key source names the client", async () => {
  assert.equal((await get("/rewritten/a?api_key=k-123&x=1")).status, 200);
  const upstream = seen("/inner/a?x=1")!;
  assert.equal(upstream.headers["x-envoy-original-path"], "/rewritten/a?x=1");
  assert.equal((await get("/same-header/a", { "x-client-id": "k-456" })).status, 200);
  assert.equal(seen("/same-header/a")!.headers["x-client-id"], "client2", "the key is taken off first, then the client named");
});

test("basicAuth and apiKeyAuth on one rule: both must let the request in, basicAuth first", async () => {
  const basic = `Basic ${Buffer.from("ann:pw").toString("base64")}`;
  const noUser = await get("/both/a", { "api-key": "k-123" });
  assert.equal(noUser.status, 401);
  assert.match(String(noUser.headers["www-authenticate"]), /^Basic /);
  const noKey = await get("/both/b", { authorization: basic });
  assert.equal(noKey.status, 401);
  assert.equal(noKey.json()["message"], "client authentication failed: the request carries no API key");
  assert.equal((await get("/both/c", { authorization: basic, "api-key": "k-123" })).status, 200);
  assert.equal(seen("/both/c")!.headers["x-envoy-basic-auth-user"], "ann");
});

test("a redirect sends no key on to where it points", async () => {
  const moved = await get("/moved/a?api_key=k-123&x=1");
  assert.equal(moved.status, 302);
  assert.equal(moved.headers["location"], "http://other.example:8080/moved/a?x=1");
  const upgrade = (await upgradeHead(gw.port, "/moved/b?api_key=k-123&x=2")).toString("latin1");
  assert.match(upgrade, /^HTTP\/1\.1 302 /);
  assert.match(upgrade, /\r\nlocation: http:\/\/other\.example:8080\/moved\/b\?x=2\r\n/i, "an upgrade's redirect likewise");
});

test("an upgrade needs a key too", async () => {
  assert.match((await upgradeHead(gw.port, "/switch")).toString("latin1"), /^HTTP\/1\.1 401 Unauthorized\r\n/);
  assert.match((await upgradeHead(gw.port, "/switch", { "x-api-key": "e-999" })).toString("latin1"), /^HTTP\/1\.1 101 /);
  const keyed = (await upgradeHead(gw.port, "/switch/keyed?api_key=k-123&room=7")).toString("latin1");
  assert.match(keyed, /^HTTP\/1\.1 101 /);
  assert.match(keyed, /\r\nx-seen-target: \/switch\/keyed\?room=7\r\n/i, "the upgrade's upstream target has no key");
});

test("each refusal is counted under its route, rule and policy, with kind api_key_auth", () => {
  const counted = [...gw.stats.accessDenials!.entries()].filter(([, , , kind]) => kind === "api_key_auth");
  assert.deepEqual(Object.fromEntries(counted.map(([, ruleName, policy, , n]) => [`${ruleName} ${policy}`, n])), {
    "default-source default/default-source": 3,
    "sources default/sources": 3,
    "selected default/selected": 1,
    "both default/both": 1,
    "gateway default/edge-keys": 1,
    "socket default/edge-keys": 1,
  });
});
