// kgateway TrafficPolicy `extAuth` and GatewayExtensions of type ExtAuth in the config: what
// each rule loads to, the extension's defaults (Envoy's and kgateway's), how a Gateway's
// extAuth reaches the rules served through it, and the exact text of each error and warning.
// A check that cannot be made must fail the load: leaving it out would open the route.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ExternalAuthModel, FilterModel } from "../../src/config/model.ts";
import { filtersThrough } from "../../src/plan/gateway-filters.ts";
import { ROUTE_ON_SHARED_LISTENER, TO_GATEWAY, TO_RULE_A, TWO_RULE_ROUTE, errors, gatewayExtension, load, trafficPolicy, warnings } from "./helpers.ts";


const GRPC = gatewayExtension("authz", "  type: ExtAuth\n  extAuth:\n    grpcService: {backendRef: {name: authz, port: 9000}}\n");
const policy = (name: string, body: string, targets?: string): string => trafficPolicy(name, `  extAuth: ${body}\n`, targets);

/** The ExternalAuth-related filters of each rule of route `web`. */
function authOfRules(text: string): FilterModel[][] {
  const { config, diagnostics } = load(text);
  assert.ok(config, diagnostics.map((d) => d.message).join("\n"));
  return config.routes[0]!.rules.map((rule) => rule.filters.filter((f) => f.type === "ExternalAuth" || f.type === "NoExternalAuth"));
}

const GRPC_MODEL: ExternalAuthModel = {
  type: "ExternalAuth",
  protocol: "GRPC",
  backendKey: "default/authz:9000",
  pathPrefix: "",
  allowedRequestHeaders: [],
  allowedResponseHeaders: [],
  answerHeadersWhenUnlisted: "none",
  forwardBodyBytes: 0,
  bodyAsBytes: false,
  policyName: "default/p",
  timeoutMs: 200,
  failOpen: false,
  statusOnError: 403,
  percentEnabled: 100,
  contextExtensions: {},
  checkHeadersToAdd: [],
  clientHeadersOnDenial: undefined,
  clientHeadersOnSuccess: [],
};

test("a gRPC extension: Envoy's defaults (200 ms, fail closed with 403, every header, every request); the policy's context extensions and body", () => {
  assert.deepEqual(authOfRules(TWO_RULE_ROUTE + GRPC + policy("p", "{extensionRef: {name: authz}}")), [[GRPC_MODEL], [GRPC_MODEL]]);
  const tuned = gatewayExtension(
    "authz",
    `  extAuth:
    grpcService: {backendRef: {name: authz, port: 9000}, requestTimeout: 1s}
    headersToForward: [X-Tenant, authorization]
    failOpen: true
    statusOnError: 503
    percentageEnabled: 25
    withRequestBody: {maxRequestBytes: 1024}
`,
  );
  const [a, b] = authOfRules(TWO_RULE_ROUTE + tuned + policy("p", "{extensionRef: {name: authz}, contextExtensions: {tier: gold}, withRequestBody: {maxRequestBytes: 64, packAsBytes: true}}", TO_RULE_A));
  assert.deepEqual(a, [
    {
      ...GRPC_MODEL,
      allowedRequestHeaders: ["x-tenant", "authorization"],
      forwardBodyBytes: 64,
      bodyAsBytes: true,
      timeoutMs: 1000,
      failOpen: true,
      statusOnError: 503,
      percentEnabled: 25,
      contextExtensions: { tier: "gold" },
    },
  ]);
  assert.deepEqual(b, [], "sectionName narrows the policy to rule a");
  const [bodyFromExtension] = authOfRules(TWO_RULE_ROUTE + tuned + policy("p", "{extensionRef: {name: authz}}"));
  assert.equal((bodyFromExtension![0] as ExternalAuthModel).forwardBodyBytes, 1024, "without its own withRequestBody the policy takes the extension's");
});

test("an HTTP extension: kgateway's 2 s default, the prefix, literal headers to add and the three answer lists (a listed denial always lets WWW-Authenticate and Location through)", () => {
  const http = gatewayExtension(
    "authz",
    `  extAuth:
    httpService:
      backendRef: {name: authz, port: 9000}
      pathPrefix: /verify/
      authorizationRequest: {headersToAdd: {X-Gateway: "tollgate 100%%"}}
      authorizationResponse: {headersToBackend: [X-User-Id], headersToClient: [X-Reason], headersToClientOnSuccess: [Set-Cookie]}
    headersToForward: [x-tenant]
`,
  );
  const a = authOfRules(TWO_RULE_ROUTE + http + policy("p", "{extensionRef: {name: authz}}"))[0]![0];
  assert.deepEqual(a, {
    ...GRPC_MODEL,
    protocol: "HTTP",
    pathPrefix: "/verify",
    allowedRequestHeaders: ["x-tenant"],
    allowedResponseHeaders: ["x-user-id"],
    timeoutMs: 2000,
    checkHeadersToAdd: [{ name: "x-gateway", value: "tollgate 100%" }],
    clientHeadersOnDenial: ["x-reason", "www-authenticate", "location"],
    clientHeadersOnSuccess: ["set-cookie"],
  });
  assert.deepEqual(errors(TWO_RULE_ROUTE + http + policy("p", "{extensionRef: {name: authz}}")), []);
  const emptyList = http.replace("headersToClient: [X-Reason]", "headersToClient: []");
  const b = authOfRules(TWO_RULE_ROUTE + emptyList + policy("p", "{extensionRef: {name: authz}}"))[0]![0] as ExternalAuthModel;
  assert.equal(b.clientHeadersOnDenial, undefined, "an empty headersToClient is no list (kgateway builds no matcher): the whole denial goes");
});

test("a Gateway's extAuth reaches every rule without an ExternalAuth of its own or a route's disable; a route-level policy replaces it", () => {
  const text = TWO_RULE_ROUTE + GRPC + policy("edge", "{extensionRef: {name: authz}}", TO_GATEWAY) + policy("off", "{disable: {}}", TO_RULE_A);
  const config = load(text).config!;
  const gateway = config.gateways[0]!;
  assert.equal(gateway.externalAuth?.policyName, "default/edge");
  const [a, b] = config.routes[0]!.rules.map((rule) => filtersThrough(rule, gateway, 8080, "default/web"));
  const authOf = (through: ReturnType<typeof filtersThrough>) => through.models.filter((f) => f.type === "ExternalAuth").map((f) => (f as ExternalAuthModel).policyName);
  assert.deepEqual(authOf(a!), [], "rule a's route disables the Gateway's check");
  assert.deepEqual(authOf(b!), ["default/edge"]);
  assert.notEqual(b!.variant, "", "the Gateway's check sets the rule's filters apart");
  const own = load(TWO_RULE_ROUTE + GRPC + policy("edge", "{extensionRef: {name: authz}}", TO_GATEWAY) + policy("route", "{extensionRef: {name: authz}}", TO_RULE_A)).config!;
  assert.deepEqual(authOf(filtersThrough(own.routes[0]!.rules[0]!, own.gateways[0]!, 8080, "default/web")), ["default/route"]);
});

test("a GatewayExtension with both or neither service, a policy with both or neither of extensionRef and disable, and a missing or mistyped extension are errors", () => {
  assert.deepEqual(errors(TWO_RULE_ROUTE + gatewayExtension("authz", "  extAuth:\n    grpcService: {backendRef: {name: authz, port: 9000}}\n    httpService: {backendRef: {name: authz, port: 9000}}\n") + policy("p", "{extensionRef: {name: authz}}")), [
    "t.yaml:34:5: spec.extAuth: grpcService and httpService are both set; extAuth holds exactly one (hint: keep the one the authorization service speaks)",
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + gatewayExtension("authz", "  extAuth: {failOpen: true}\n") + policy("p", "{extensionRef: {name: authz}}")), [
    "t.yaml:33:12: spec.extAuth: extAuth needs grpcService or httpService (hint: keep the one the authorization service speaks)",
  ]);
  const hint = "(hint: write extensionRef: {name: <GatewayExtension>} to check requests, or disable: {} to exempt the rules from their Gateway's extAuth)";
  assert.deepEqual(errors(TWO_RULE_ROUTE + GRPC + policy("p", "{extensionRef: {name: authz}, disable: {}}")), [`t.yaml:42:12: spec.extAuth: extensionRef and disable are both set; extAuth holds exactly one ${hint}`]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + GRPC + policy("p", "{}")), [`t.yaml:42:12: spec.extAuth: extAuth needs extensionRef or disable ${hint}`]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + policy("p", "{extensionRef: {name: authz}}")), [
    "t.yaml:34:27: spec.extAuth.extensionRef: GatewayExtension default/authz is not in the file (hint: add a gateway.kgateway.dev/v1alpha1 GatewayExtension with spec.extAuth {grpcService} or {httpService}, or fix the name)",
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + gatewayExtension("authz", "  rateLimit: {grpcService: {backendRef: {name: rls, port: 8081}}, domain: api}\n") + policy("p", "{extensionRef: {name: authz}}")), [
    "t.yaml:40:27: spec.extAuth.extensionRef: GatewayExtension default/authz is of type RateLimit, not ExtAuth (hint: name a GatewayExtension that sets spec.extAuth)",
  ]);
});

test("the extension's fields are checked where they stand: a zero time limit, the prefix, headers to add (literal values only), header lists, statusOnError and allowPartialMessage", () => {
  const bad = gatewayExtension(
    "authz",
    `  extAuth:
    httpService:
      backendRef: {name: authz, port: 9000}
      requestTimeout: 0s
      pathPrefix: /a/../b
      authorizationRequest: {headersToAdd: {X-Op: "%REQ(x-user)%", Host: h, Connection: close, "bad name": v, X-Pct: "5%"}}
      authorizationResponse: {headersToBackend: [content-length], headersToClient: [x-a, X-A]}
    headersToForward: [te]
    statusOnError: 150
    withRequestBody: {maxRequestBytes: 10, allowPartialMessage: true}
`,
  );
  const http = (spec: string): string => gatewayExtension("authz", `  extAuth:\n    httpService: {backendRef: {name: authz, port: 9000}${spec}}\n`);
  assert.deepEqual(errors(TWO_RULE_ROUTE + http(', authorizationRequest: {headersToAdd: {X-A: "a\\r\\nx-injected: 1", Content-Length: "5"}}') + policy("p", "{extensionRef: {name: authz}}")), [
    't.yaml:34:101: spec.extAuth.httpService.authorizationRequest.headersToAdd.X-A: the value of header "X-A" holds a character no HTTP header may carry (hint: use visible characters, spaces and tabs only: no CR, LF, NUL or other control character, and nothing outside Latin-1)',
    "t.yaml:34:139: spec.extAuth.httpService.authorizationRequest.headersToAdd.Content-Length: content-length cannot be set on the check: the gateway writes it from the request (hint: remove this entry)",
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + GRPC.replace("port: 9000}}", "port: 9000}}\n    statusOnError: 204") + policy("p", "{extensionRef: {name: authz}}")), [
    "t.yaml:36:20: spec.extAuth.statusOnError: 204 carries no body, and the refusal is a JSON body (hint: use a status from 200 to 511 other than 204, 205 and 304; the default is 403)",
  ]);
  const secret = gatewayExtension("authz", '  extAuth:\n    httpService: {backendRef: {name: authz, port: 9000}, authorizationRequest: {headersToAdd: {Authorization: "Bearer s3cr%t"}}}\n');
  const [secretError] = errors(TWO_RULE_ROUTE + secret + policy("p", "{extensionRef: {name: authz}}"));
  assert.match(secretError!, /headersToAdd\.Authorization: the value: a lone '%' does not start a command operator/);
  assert.doesNotMatch(secretError!, /s3cr/, "a credential stays out of load errors");
  assert.deepEqual(errors(TWO_RULE_ROUTE + GRPC.replace("port: 9000}}", "port: 9000}}\n    withRequestBody: {maxRequestBytes: 67108865}") + policy("p", "{extensionRef: {name: authz}}")), [
    "t.yaml:36:40: spec.extAuth.withRequestBody.maxRequestBytes: 67108865 is out of range: must be <= 67108864 (hint: use 67108864 or less)",
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + bad + policy("p", "{extensionRef: {name: authz}}")), [
    "t.yaml:36:23: spec.extAuth.httpService.requestTimeout: an authorization check cannot have a zero time limit (hint: use at least 1ms; the default is 2s)",
    't.yaml:37:19: spec.extAuth.httpService.pathPrefix: "/a/../b" is not a normalised path: it holds "//", a "." or ".." segment (plain or encoded), or an encoded "/" (hint: write the path as the service expects it, e.g. /auth/verify)',
    't.yaml:38:51: spec.extAuth.httpService.authorizationRequest.headersToAdd.X-Op: "%REQ(x-user)%" uses a command operator; the check\'s headers take literal values only (hint: write the value itself (%% for a percent sign); the service sees the request\'s headers through headersToForward)',
    "t.yaml:38:74: spec.extAuth.httpService.authorizationRequest.headersToAdd.Host: host cannot be set on the check: the gateway writes it from the request (hint: remove this entry)",
    't.yaml:38:89: spec.extAuth.httpService.authorizationRequest.headersToAdd.Connection: header "Connection" cannot be copied here: it names one connection and never leaves it (hint: remove this entry)',
    't.yaml:38:108: spec.extAuth.httpService.authorizationRequest.headersToAdd["bad name"]: "bad name" is not a valid header name (hint: use letters, digits and !#$%&\'*+-.^_`|~ only (an RFC 9110 token))',
    't.yaml:38:118: spec.extAuth.httpService.authorizationRequest.headersToAdd.X-Pct: "5%": a lone \'%\' does not start a command operator (write %% for a literal percent) (hint: write the value itself (%% for a percent sign); the service sees the request\'s headers through headersToForward)',
    't.yaml:39:50: spec.extAuth.httpService.authorizationResponse.headersToBackend[0]: header "content-length" cannot be copied here: the gateway frames the forwarded request and runs its connection itself (hint: remove this entry)',
    't.yaml:39:90: spec.extAuth.httpService.authorizationResponse.headersToClient[1]: "X-A" appears twice (also [0]) (hint: list each value once)',
    't.yaml:40:24: spec.extAuth.headersToForward[0]: header "te" cannot be copied here: it names one connection and never leaves it (hint: remove this entry)',
    "t.yaml:41:20: spec.extAuth.statusOnError: 150 is not a final status: the client must get an answer (hint: use a status from 200 to 511 other than 204, 205 and 304; the default is 403)",
    "t.yaml:42:65: spec.extAuth.withRequestBody.allowPartialMessage: allowPartialMessage is not supported: a body the check reads is held whole, so a larger one cannot be checked in part (hint: remove it (a body over maxRequestBytes then gets 413), or raise maxRequestBytes to the largest body the route takes)",
  ]);
});

test("fields Tollgate reads but does not apply are warned about, as are context extensions for an HTTP service and what disable makes moot", () => {
  const text =
    TWO_RULE_ROUTE +
    gatewayExtension(
      "authz",
      `  extAuth:
    grpcService: {backendRef: {name: authz, port: 9000}, authority: a.example, retry: {attempts: 2}}
    clearRouteCache: true
    statPrefix: edge
`,
    ) +
    gatewayExtension("h", "  extAuth: {httpService: {backendRef: {name: h, port: 80}, retry: {attempts: 1}}}\n") +
    policy("p", "{extensionRef: {name: authz}}", TO_RULE_A) +
    policy("q", "{extensionRef: {name: h}, contextExtensions: {a: b}}", TO_GATEWAY);
  assert.deepEqual(errors(text), []);
  assert.deepEqual(warnings(text), [
    "t.yaml:34:69: spec.extAuth.grpcService.authority: warning: authority is not applied: calls carry the service's host as their :authority (hint: remove authority, or point backendRef at the name the service expects)",
    "t.yaml:34:87: spec.extAuth.grpcService.retry: warning: retry is not applied: a failed call is not repeated (failOpen decides what the request gets) (hint: remove retry)",
    "t.yaml:35:22: spec.extAuth.clearRouteCache: warning: clearRouteCache is not applied: the route is chosen before the check and headers the service sets do not choose another (hint: remove clearRouteCache, or match the route on what the client sends)",
    "t.yaml:36:17: spec.extAuth.statPrefix: warning: statPrefix is not applied: tollgate.ext_authz.checks names the TrafficPolicy instead (hint: remove statPrefix)",
    "t.yaml:42:67: spec.extAuth.httpService.retry: warning: retry is not applied: a failed call is not repeated (failOpen decides what the request gets) (hint: remove retry)",
    "t.yaml:56:57: spec.extAuth.contextExtensions: warning: contextExtensions are not sent: GatewayExtension default/h is an HTTP service, and only gRPC checks carry them (hint: remove contextExtensions, or use a gRPC service)",
  ]);
  const moot = TWO_RULE_ROUTE + GRPC + policy("p", "{disable: {}, contextExtensions: {a: b}, withRequestBody: {maxRequestBytes: 5}}") + policy("g", "{disable: {}}", TO_GATEWAY);
  assert.deepEqual(warnings(moot), [
    "t.yaml:42:45: spec.extAuth.contextExtensions: warning: contextExtensions does nothing beside disable: the rules are not checked (hint: remove contextExtensions)",
    "t.yaml:42:70: spec.extAuth.withRequestBody: warning: withRequestBody does nothing beside disable: the rules are not checked (hint: remove withRequestBody)",
    "t.yaml:49:22: spec.extAuth.disable: warning: extAuth.disable turns off nothing on Gateway default/gw: a Gateway's extAuth is the one a route's, or a listener's, disable turns off (hint: target the HTTPRoutes whose rules should not be checked, or the listener by sectionName)",
  ]);
  assert.equal(load(moot).config!.gateways[0]!.externalAuth, undefined);
});

test("a rule's own ExternalAuth filter replaces its Gateway's extAuth, with a warning per rule", () => {
  const withFilter = TWO_RULE_ROUTE.replace(
    "  - name: a\n    matches: [{path: {type: PathPrefix, value: /a}}]\n",
    "  - name: a\n    matches: [{path: {type: PathPrefix, value: /a}}]\n    filters: [{type: ExternalAuth, externalAuth: {protocol: GRPC, backendRef: {name: authz, port: 9000}}}]\n",
  );
  assert.deepEqual(warnings(withFilter + GRPC + policy("edge", "{extensionRef: {name: authz}}", TO_GATEWAY)), [
    "t.yaml:25:14: spec.rules[0].filters: warning: rule a is checked by its own ExternalAuth filter; the extAuth of Gateway default/gw (TrafficPolicy default/edge) does not apply to it (hint: remove the filter to keep that check; a rule meant to differ says so in a route TrafficPolicy extAuth)",
  ]);
  assert.deepEqual(warnings(TWO_RULE_ROUTE + GRPC + policy("edge", "{extensionRef: {name: authz}}", TO_GATEWAY)), [], "rules without a filter of their own take the Gateway's check silently");
  // Through a listener, what the listener gets is what the filter replaces: its own policy's,
  // or nothing where its policy turns the Gateway's off.
  const toListener = "[{group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: http}]";
  assert.deepEqual(warnings(withFilter + GRPC + policy("edge", "{extensionRef: {name: authz}}", TO_GATEWAY) + policy("listener", "{extensionRef: {name: authz}}", toListener)), [
    "t.yaml:25:14: spec.rules[0].filters: warning: rule a is checked by its own ExternalAuth filter; the extAuth of listener http of Gateway default/gw (TrafficPolicy default/listener) does not apply to it (hint: remove the filter to keep that check; a rule meant to differ says so in a route TrafficPolicy extAuth)",
  ]);
  assert.deepEqual(warnings(withFilter + GRPC + policy("edge", "{extensionRef: {name: authz}}", TO_GATEWAY) + policy("open", "{disable: {}}", toListener)), []);
});

test("a rule's own ExternalAuth filter keeps its place beside a route's extAuth, with a warning", () => {
  const withFilter = TWO_RULE_ROUTE.replace(
    "  - name: a\n    matches: [{path: {type: PathPrefix, value: /a}}]\n",
    "  - name: a\n    matches: [{path: {type: PathPrefix, value: /a}}]\n    filters: [{type: ExternalAuth, externalAuth: {protocol: GRPC, backendRef: {name: authz, port: 9000}}}]\n",
  );
  const text = withFilter + GRPC + policy("p", "{extensionRef: {name: authz}}");
  assert.deepEqual(warnings(text), [
    "t.yaml:25:14: spec.rules[0].filters: warning: rule a has an ExternalAuth filter of its own; TrafficPolicy default/p's extAuth does not apply to it (hint: keep one authorization check per rule: remove the filter, or narrow the policy with sectionName)",
  ]);
  const [a, b] = authOfRules(text);
  assert.deepEqual(a!.map((f) => (f as ExternalAuthModel).policyName), [""]);
  assert.deepEqual(b!.map((f) => (f as ExternalAuthModel).policyName), ["default/p"]);
});

test("one route on two Gateways with different extAuth compiles apart for each: the Gateway's policy sets the rule's filters apart", () => {
  const twoGateways =
    TWO_RULE_ROUTE.replace("  parentRefs: [{name: gw}]", "  parentRefs: [{name: gw}, {name: gw2}]") +
    `---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw2}\nspec:\n  gatewayClassName: tollgate\n  listeners: [{name: http, port: 9090, protocol: HTTP}]\n` +
    GRPC +
    policy("pa", "{extensionRef: {name: authz}}", TO_GATEWAY) +
    policy("pb", "{extensionRef: {name: authz}}", TO_GATEWAY.replace("name: gw}", "name: gw2}"));
  const config = load(twoGateways).config!;
  const rule = config.routes[0]!.rules[0]!;
  const [a, b] = config.gateways.map((g) => filtersThrough(rule, g, g.listeners[0]!.port, "default/web"));
  assert.deepEqual([a!, b!].map((t) => (t.models.find((f) => f.type === "ExternalAuth") as ExternalAuthModel).policyName), ["default/pa", "default/pb"]);
  assert.notEqual(a!.variant, b!.variant, "a plan that shared one compiled rule between them would check one Gateway's requests with the other's policy");
});

test("extAuth is access control: a sectionName naming no rule, and Gateways sharing a listener with different extAuth (whole or through the listener) are errors; a Gateway sectionName gives the listener its extAuth", () => {
  assert.deepEqual(errors(TWO_RULE_ROUTE + GRPC + policy("p", "{extensionRef: {name: authz}}", "[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web, sectionName: nope}]")), [
    't.yaml:41:92: spec.targetRefs[0].sectionName: HTTPRoute default/web has no rule named "nope"; extAuth applies to no rule through it (hint: name a rule of the route: a)',
  ]);
  const toListener = TWO_RULE_ROUTE + GRPC + policy("p", "{extensionRef: {name: authz}}", "[{group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: http}]");
  assert.deepEqual(errors(toListener), []);
  assert.equal(load(toListener).config!.gateways[0]!.listenerPolicies?.get("http")?.externalAuth?.policyName, "default/p");
  const shared = "t.yaml:34:15: spec.listeners[0]: port 8080 hostname (any) is also served by Gateway default/gw, whose extAuth comes from TrafficPolicy default/edge; HTTPRoute default/web is on both and would get the extAuth of whichever Gateway the route table picked (hint: give the listeners distinct hostnames or ports, or target both Gateways with the same TrafficPolicy extAuth)";
  assert.deepEqual(errors(ROUTE_ON_SHARED_LISTENER + GRPC + policy("edge", "{extensionRef: {name: authz}}", TO_GATEWAY)), [shared]);
  // The same through the shared listener alone: the check compares what each listener gets.
  assert.deepEqual(errors(ROUTE_ON_SHARED_LISTENER + GRPC + policy("edge", "{extensionRef: {name: authz}}", "[{group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: http}]")), [shared]);
});

test("kgateway v2.0's enablement: DisableAll loads as disable: {} does: the rule is exempt from its Gateway's extAuth", () => {
  const text = TWO_RULE_ROUTE + GRPC + policy("edge", "{extensionRef: {name: authz}}", TO_GATEWAY) + policy("off", "{enablement: DisableAll}", TO_RULE_A);
  assert.deepEqual([errors(text), warnings(text)], [[], []]);
  const config = load(text).config!;
  assert.deepEqual(authOfRules(text), [[{ type: "NoExternalAuth" }], []]);
  const [a, b] = config.routes[0]!.rules.map((rule) => filtersThrough(rule, config.gateways[0]!, 8080, "default/web"));
  assert.deepEqual(a!.models.filter((f) => f.type === "ExternalAuth"), [], "rule a's route turns the Gateway's check off");
  assert.deepEqual(b!.models.filter((f) => f.type === "ExternalAuth").map((f) => (f as ExternalAuthModel).policyName), ["default/edge"]);
  // The same as the newer spelling, model for model.
  const disabled = TWO_RULE_ROUTE + GRPC + policy("edge", "{extensionRef: {name: authz}}", TO_GATEWAY) + policy("off", "{disable: {}}", TO_RULE_A);
  assert.deepEqual(load(text).config!.routes, load(disabled).config!.routes);
});

test("enablement with extensionRef or disable, or another value, is an error; what it makes moot, and it on a whole Gateway, are warned about", () => {
  const hint = "(hint: write extensionRef: {name: <GatewayExtension>} to check requests, or disable: {} to exempt the rules from their Gateway's extAuth)";
  assert.deepEqual(errors(TWO_RULE_ROUTE + GRPC + policy("p", "{extensionRef: {name: authz}, enablement: DisableAll}")), [`t.yaml:42:12: spec.extAuth: extensionRef and enablement are both set; extAuth holds exactly one ${hint}`]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + GRPC + policy("p", "{disable: {}, enablement: DisableAll}")), [
    "t.yaml:42:38: spec.extAuth.enablement: enablement and disable are both set; enablement: DisableAll is kgateway v2.0's spelling of disable: {} (hint: keep disable: {} alone)",
  ]);
  assert.deepEqual(errors(TWO_RULE_ROUTE + GRPC + policy("p", "{enablement: EnableAll}")), ['t.yaml:42:25: spec.extAuth.enablement: the string "EnableAll" is not allowed (hint: did you mean "DisableAll"? (one of DisableAll))']);
  const moot = TWO_RULE_ROUTE + GRPC + policy("p", "{enablement: DisableAll, contextExtensions: {a: b}}") + policy("g", "{enablement: DisableAll}", TO_GATEWAY);
  assert.deepEqual(warnings(moot), [
    "t.yaml:42:56: spec.extAuth.contextExtensions: warning: contextExtensions does nothing beside enablement: the rules are not checked (hint: remove contextExtensions)",
    "t.yaml:49:25: spec.extAuth.enablement: warning: extAuth.enablement turns off nothing on Gateway default/gw: a Gateway's extAuth is the one a route's, or a listener's, disable turns off (hint: target the HTTPRoutes whose rules should not be checked, or the listener by sectionName)",
  ]);
  assert.equal(load(moot).config!.gateways[0]!.externalAuth, undefined);
});
