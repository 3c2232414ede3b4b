// kgateway TrafficPolicy `urlRewrite.pathRegex` end to end, against a real upstream that
// echoes the target it got: groups moved around, every match replaced, the query kept, a
// literal `$`, a result rooted at `/`, and the rule's own hostname rewrite kept beside it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type TestUpstream, startUpstream } from "../support/upstreams.ts";
import { GATEWAY_YAML, type GatewayUnderTest, ask, backendYaml, ref, routeYaml, startGateway } from "./harness.ts";

let app: TestUpstream;
let gw: GatewayUnderTest;

const rule = (name: string, prefix: string, extra = ""): string => `    - name: ${name}
      matches: [{path: {type: PathPrefix, value: ${prefix}}}]
${extra}      backendRefs: [${ref("app")}]
`;
const rewrite = (name: string, rule: string, pattern: string, substitution: string): string => `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: ${name}, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: r, sectionName: ${rule}}]
  urlRewrite: {pathRegex: {pattern: '${pattern}', substitution: '${substitution}'}}
`;

before(async () => {
  app = await startUpstream("app");
  gw = await startGateway(
    GATEWAY_YAML +
      backendYaml("app", app.port) +
      routeYaml(
        rule("groups", "/service") +
          rule("every", "/all") +
          rule("cash", "/cash") +
          rule("strip", "/strip") +
          rule("index", "/idx") +
          rule("host", "/host", "      filters: [{type: URLRewrite, urlRewrite: {hostname: internal.example}}]\n"),
      ) +
      rewrite("groups", "groups", "^/service/([^/]+)(/.*)$", "\\2/instance/\\1") +
      rewrite("every", "every", "one", "two") +
      rewrite("cash", "cash", "^/cash/(.*)$", "/price$/\\1") +
      rewrite("strip", "strip", "^/strip/(.*)$", "\\1") +
      rewrite("index", "index", "/?$", "/index.html") +
      rewrite("host", "host", "^/host", "/internal"),
  );
});

after(async () => {
  await gw.close();
  await app.close();
});

async function upstreamSaw(path: string): Promise<{ url: string; headers: Record<string, unknown> }> {
  const reply = await ask(gw.port, { path });
  assert.equal(reply.status, 200);
  const echoed = reply.json();
  return { url: echoed["url"] as string, headers: echoed["headers"] as Record<string, unknown> };
}

test("groups of the pattern land where the substitution names them; the query is kept and the original target recorded", async () => {
  const seen = await upstreamSaw("/service/foo/bar/baz?x=1&y=2");
  assert.equal(seen.url, "/bar/baz/instance/foo?x=1&y=2");
  assert.equal(seen.headers["x-envoy-original-path"], "/service/foo/bar/baz?x=1&y=2");
});

test("every match in the path is replaced, none in the query", async () => {
  assert.equal((await upstreamSaw("/all/one/x/one?q=one")).url, "/all/two/x/two?q=one");
});

test("an empty match right after a replaced one is skipped, as in Envoy: one index page", async () => {
  assert.equal((await upstreamSaw("/idx/docs/")).url, "/idx/docs/index.html");
  assert.equal((await upstreamSaw("/idx/docs")).url, "/idx/docs/index.html");
});

test("a $ in the substitution is a literal", async () => {
  assert.equal((await upstreamSaw("/cash/10")).url, "/price$/10");
});

test("a result without a leading slash is rooted", async () => {
  assert.equal((await upstreamSaw("/strip/page?a=b")).url, "/page?a=b");
});

test("the rule's own hostname rewrite applies beside the policy's path", async () => {
  const seen = await upstreamSaw("/host/page");
  assert.deepEqual([seen.url, seen.headers["host"]], ["/internal/page", "internal.example"]);
});
