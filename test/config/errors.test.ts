// Every error class, with its exact `FILE:LINE:COL: path: message (hint: ...)` text.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { GATEWAY, WEB_ROUTE, errors, lines, load, warnings } from "./helpers.ts";

const route = (rules: string, extra = ""): string => `${WEB_ROUTE}${extra}  rules:
${rules}`;

const telemetryPolicy = (body: string): string => `${GATEWAY}---
apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: TelemetryPolicy
metadata:
  name: tp
spec:
  targetRefs:
  - group: gateway.networking.k8s.io
    kind: Gateway
    name: gw
${body}`;

const listenerPolicy = (body: string): string => `${GATEWAY}---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: HTTPListenerPolicy
metadata:
  name: logs
spec:
  targetRefs:
  - group: gateway.networking.k8s.io
    kind: Gateway
    name: gw
${body}`;

describe("document-level errors", () => {
  test("YAML syntax error", () => {
    assert.deepEqual(errors(GATEWAY + "  - name: [oops\n"), [
      "t.yaml:12:1: -: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ] (hint: check the indentation and closing brackets around this line)",
    ]);
  });

  test("a duplicate key names its field path and where the first one is, in block and flow mappings", () => {
    const doubled = `${GATEWAY}---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm, name: again}
data:
  a: "1"
  b: "2"
  a: "3"
`;
    assert.deepEqual(errors(doubled), [
      't.yaml:14:22: metadata.name: duplicate key "name" (first at 14:12) (hint: remove one of the duplicate keys)',
      't.yaml:18:3: data.a: duplicate key "a" (first at 16:3) (hint: remove one of the duplicate keys)',
    ]);
    // The same key in sibling mappings is no duplicate.
    assert.deepEqual(errors(`${GATEWAY}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {a: "1", b: {a: "2"}}\n`), []);
  });

  test("an alias bomb is refused at its document, not expanded", () => {
    const bomb = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: bomb}", "data:", "  a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (const [name, target] of [["b", "a"], ["c", "b"], ["d", "c"]]) bomb.push(`  ${name}: &${name} [${Array(10).fill(`*${target}`).join(", ")}]`);
    assert.deepEqual(errors(GATEWAY + "---\n" + bomb.join("\n") + "\n"), [
      "t.yaml:11:1: -: YAML: Excessive alias count indicates a resource exhaustion attack (hint: expand the aliases; a file may use at most 100 alias references)",
    ]);
  });

  test("a document that is not a mapping, and one without kind", () => {
    assert.deepEqual(errors(`${GATEWAY}---\n- a list\n---\napiVersion: v1\nmetadata: {name: x}\n`), [
      "t.yaml:12:1: -: document 2 is not a mapping (hint: each YAML document must be one Kubernetes-style resource with apiVersion, kind, metadata and spec)",
      "t.yaml:14:1: -: document 3 has no kind (hint: add kind: ... (e.g. Gateway))",
    ]);
  });

  test("duplicate resource", () => {
    assert.deepEqual(errors(`${GATEWAY}---\n${GATEWAY}`), [
      "t.yaml:15:9: metadata.name: duplicate Gateway default/gw (first defined at line 1) (hint: rename one of them or remove the duplicate)",
    ]);
  });

  test("bad creationTimestamp", () => {
    assert.deepEqual(errors(GATEWAY.replace("  name: gw\n", "  name: gw\n  creationTimestamp: yesterday\n")), [
      't.yaml:5:22: metadata.creationTimestamp: "yesterday" is not an RFC 3339 timestamp (hint: write e.g. 2025-01-31T12:00:00Z)',
    ]);
  });

  test("an unknown Hugo shortcode is an error; the kgateway namespace one is read with a warning", () => {
    const text = GATEWAY.replace("  name: gw\n", '  name: gw\n  namespace: {{< reuse "docs/snippets/other.md" >}}\n');
    assert.deepEqual(errors(text), ['t.yaml:5:14: metadata.namespace: unresolved Hugo shortcode {{< reuse "docs/snippets/other.md" >}} (hint: replace the shortcode with the value it stands for)']);
    const known = load(GATEWAY.replace("  name: gw\n", '  name: gw\n  namespace: {{< reuse "docs/snippets/namespace.md" >}}\n'));
    assert.equal(known.config?.gateways[0]!.ref.namespace, "kgateway-system");
  });

  test("an empty file loads with a warning that nothing is served", () => {
    const result = load("");
    assert.deepEqual(result.config?.gateways, []);
    assert.deepEqual(lines(result, "warning"), ["t.yaml:1:1: -: warning: the file defines no Gateway, so Tollgate serves nothing (hint: add a gateway.networking.k8s.io/v1 Gateway with an HTTP listener)"]);
  });

  test("a known kind under an unknown version is skipped with a warning", () => {
    const result = load(GATEWAY + "---\napiVersion: gateway.networking.k8s.io/v1alpha9\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {}\n");
    assert.deepEqual(lines(result, "warning"), [
      "t.yaml:12:13: apiVersion: warning: HTTPRoute gateway.networking.k8s.io/v1alpha9 is not implemented; this document is skipped (hint: Tollgate reads HTTPRoute as gateway.networking.k8s.io/v1 or gateway.networking.k8s.io/v1beta1)",
    ]);
    assert.deepEqual(result.config?.skippedKinds, ["gateway.networking.k8s.io/v1alpha9/HTTPRoute"]);
  });
});

describe("schema errors", () => {
  test("unknown field with a did-you-mean hint", () => {
    assert.deepEqual(errors(GATEWAY.replace("    protocol: HTTP\n", "    protocol: HTTP\n    hostnme: example.com\n")), [
      't.yaml:11:5: spec.listeners[0].hostnme: unknown field "hostnme" (hint: did you mean "hostname"?)',
    ]);
  });

  test("unknown field with nothing close lists the valid fields", () => {
    assert.deepEqual(errors(GATEWAY.replace("    protocol: HTTP\n", "    protocol: HTTP\n    colour: blue\n")), [
      't.yaml:11:5: spec.listeners[0].colour: unknown field "colour" (hint: valid fields here: name, hostname, port, protocol, tls, allowedRoutes)',
    ]);
  });

  test("missing required field points at the parent mapping", () => {
    assert.deepEqual(errors(GATEWAY.replace("    port: 8080\n", "")), ['t.yaml:8:5: spec.listeners[0].port: missing required field (hint: add "port")']);
  });

  test("wrong type and out of range", () => {
    assert.deepEqual(errors(GATEWAY.replace("port: 8080", 'port: "8080"')), ['t.yaml:9:11: spec.listeners[0].port: expected an integer, got the string "8080" (hint: write 8080 without quotes)']);
    assert.deepEqual(errors(GATEWAY.replace("port: 8080", "port: 70000")), ["t.yaml:9:11: spec.listeners[0].port: 70000 is out of range: must be <= 65535 (hint: use 65535 or less)"]);
    assert.deepEqual(errors(GATEWAY.replace("port: 8080", "port: 0")), ["t.yaml:9:11: spec.listeners[0].port: 0 is out of range: must be >= 1 (hint: use 1 or more)"]);
    assert.deepEqual(errors(GATEWAY.replace("name: http", "name: 7")), ['t.yaml:8:11: spec.listeners[0].name: expected a string, got number 7 (hint: quote it: "7")']);
    assert.deepEqual(errors(GATEWAY.replace("  listeners:\n", "  listeners: http\n  x:\n")).slice(0, 1), ['t.yaml:7:14: spec.listeners: expected a list, got the string "http" (hint: write a list: one `- item` per line, or [a, b])']);
  });

  test("enum value with a did-you-mean hint", () => {
    const text = route(`  - matches:\n    - headers:\n      - name: X-Tenant\n        type: Exct\n        value: a\n`);
    assert.deepEqual(errors(text), [
      't.yaml:23:15: spec.rules[0].matches[0].headers[0].type: the string "Exct" is not allowed (hint: did you mean "Exact"? (one of Exact, RegularExpression))',
    ]);
  });

  test("malformed duration", () => {
    assert.deepEqual(errors(route(`  - timeouts:\n      request: 10 seconds\n`)), [
      't.yaml:21:16: spec.rules[0].timeouts.request: the string "10 seconds" is not a Gateway API duration (hint: write e.g. 10s, 500ms, 1h2m (units h, m, s, ms))',
    ]);
  });
});

describe("semantic errors", () => {
  test("listeners: duplicate name, port+hostname conflict, HTTPS without tls, bad wildcard", () => {
    const text = GATEWAY + '  - name: http\n    port: 8080\n    protocol: HTTP\n  - name: tls\n    port: 8443\n    protocol: HTTPS\n  - name: bad\n    port: 9000\n    protocol: HTTP\n    hostname: "foo.*.com"\n';
    assert.deepEqual(errors(text), [
      't.yaml:11:11: spec.listeners[1].name: duplicate listener name "http" (also listeners[0]) (hint: give every listener a unique name)',
      't.yaml:12:11: spec.listeners[1].port: listener "http" conflicts with listeners[0]: same port 8080 and hostname (any) (hint: change the port or the hostname of one of them)',
      "t.yaml:14:5: spec.listeners[2]: an HTTPS listener needs tls with certificateRefs (hint: add tls: {mode: Terminate, certificateRefs: [{kind: Secret, name: ...}]})",
      't.yaml:20:15: spec.listeners[3].hostname: invalid hostname "foo.*.com": a wildcard is allowed only as the whole first label (`*.example.com`) (hint: use e.g. example.com or *.example.com)',
    ]);
  });

  test("redirect and rewrite hostnames are precise: no wildcard, no upper case", () => {
    const text = route(`  - matches:
    - path: {type: PathPrefix, value: /r}
    filters:
    - type: RequestRedirect
      requestRedirect: {hostname: "*.example.com"}
  - matches:
    - path: {type: PathPrefix, value: /w}
    filters:
    - type: URLRewrite
      urlRewrite: {hostname: "API.example.com"}
    backendRefs:
    - {name: echo, port: 80}
`);
    assert.deepEqual(
      errors(text).filter((e) => e.includes("hostname")),
      [
        't.yaml:24:35: spec.rules[0].filters[0].requestRedirect.hostname: invalid hostname "*.example.com": a wildcard names no single host to send the request to (hint: write one lower-case DNS name, e.g. api.example.com)',
        't.yaml:29:30: spec.rules[1].filters[0].urlRewrite.hostname: invalid hostname "API.example.com": hostnames are lower-case (hint: write one lower-case DNS name, e.g. api.example.com)',
      ],
    );
  });

  test("filter values: header names, rewrite paths; each error says what to write", () => {
    const text = route(`  - matches:
    - path: {type: PathPrefix, value: /w}
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: "X Tenant", value: a}]}
    - type: URLRewrite
      urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: api}}
    backendRefs:
    - {name: echo, port: 80}
`);
    assert.deepEqual(
      errors(text).filter((e) => !e.includes("Backend")),
      [
        `t.yaml:24:44: spec.rules[0].filters[0].requestHeaderModifier.set[0].name: "X Tenant" is not a valid header name (hint: use letters, digits and !#$%&'*+-.^_\`|~ only (an RFC 9110 token))`,
        't.yaml:26:67: spec.rules[0].filters[1].urlRewrite.path.replaceFullPath: the path must start with / (hint: write "/api")',
      ],
    );
  });

  test("a ResponseHeaderModifier may not set or add the headers the gateway frames the response with, except Connection: close", () => {
    const text = route(`  - matches:
    - path: {type: PathPrefix, value: /w}
    filters:
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        set: [{name: Content-Length, value: "3"}, {name: Connection, value: keep-alive}, {name: X-Ok, value: a}]
        add: [{name: transfer-encoding, value: chunked}, {name: Trailer, value: X-T}]
    backendRefs:
    - {name: echo, port: 80}
`);
    assert.deepEqual(errors(text).filter((e) => !e.includes("Backend")), [
      't.yaml:25:22: spec.rules[0].filters[0].responseHeaderModifier.set[0].name: header "Content-Length" cannot be set on a response: the gateway writes it from how it frames the body and runs the client connection (hint: remove this entry)',
      't.yaml:25:58: spec.rules[0].filters[0].responseHeaderModifier.set[1].name: header "Connection" cannot be set on a response: the gateway writes it from how it frames the body and runs the client connection (hint: only Connection: close may be set; remove this entry)',
      't.yaml:26:22: spec.rules[0].filters[0].responseHeaderModifier.add[0].name: header "transfer-encoding" cannot be added on a response: the gateway writes it from how it frames the body and runs the client connection (hint: remove this entry)',
      't.yaml:26:65: spec.rules[0].filters[0].responseHeaderModifier.add[1].name: header "Trailer" cannot be added on a response: the gateway writes it from how it frames the body and runs the client connection (hint: remove this entry)',
    ]);
    const closing = route(`  - matches:
    - path: {type: PathPrefix, value: /w}
    filters:
    - type: ResponseHeaderModifier
      responseHeaderModifier: {set: [{name: Connection, value: Close}], remove: [Content-Length]}
    backendRefs:
    - {name: echo, port: 80}
`);
    assert.deepEqual(errors(closing).filter((e) => !e.includes("Backend")), []);
  });

  test("a RequestHeaderModifier may not set or add the headers the gateway frames the request with; a ResponseHeaderModifier and remove may", () => {
    const text = route(`  - matches:
    - path: {type: PathPrefix, value: /w}
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: Expect, value: 100-continue}, {name: X-Ok, value: a}]
        add: [{name: transfer-encoding, value: gzip}]
        remove: [Connection]
    - type: ResponseHeaderModifier
      responseHeaderModifier: {set: [{name: Connection, value: close}]}
    backendRefs:
    - {name: echo, port: 80}
`);
    assert.deepEqual(
      errors(text).filter((e) => !e.includes("Backend")),
      [
        't.yaml:25:22: spec.rules[0].filters[0].requestHeaderModifier.set[0].name: header "Expect" cannot be set on a forwarded request: the gateway writes it from how it frames the body and runs the upstream connection (hint: remove this entry)',
        't.yaml:26:22: spec.rules[0].filters[0].requestHeaderModifier.add[0].name: header "transfer-encoding" cannot be added on a forwarded request: the gateway writes it from how it frames the body and runs the upstream connection (hint: remove this entry)',
      ],
    );
  });

  test("a header modifier value with CR, LF, NUL or another character no header may carry is a config error", () => {
    const text = route(`  - matches:
    - path: {type: PathPrefix, value: /w}
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Split, value: "a\\r\\nX-Injected: 1"}, {name: X-Ok, value: "tab\\tand latin-1 é"}]
        add: [{name: X-Nul, value: "a\\0b"}]
    - type: ResponseHeaderModifier
      responseHeaderModifier: {set: [{name: X-Euro, value: "5 €"}, {name: X-Bell, value: "\\a"}]}
    backendRefs:
    - {name: echo, port: 80}
`);
    const hint = "(hint: use visible characters, spaces and tabs only: no CR, LF, NUL or other control character, and nothing outside Latin-1)";
    assert.deepEqual(
      errors(text).filter((e) => !e.includes("Backend")),
      [
        `t.yaml:25:38: spec.rules[0].filters[0].requestHeaderModifier.set[0].value: the value of header "X-Split" holds a character no HTTP header may carry (CR, U+000D) ${hint}`,
        `t.yaml:26:36: spec.rules[0].filters[0].requestHeaderModifier.add[0].value: the value of header "X-Nul" holds a character no HTTP header may carry (NUL, U+0000) ${hint}`,
        `t.yaml:28:60: spec.rules[0].filters[1].responseHeaderModifier.set[0].value: the value of header "X-Euro" holds a character no HTTP header may carry (U+20AC) ${hint}`,
        `t.yaml:28:90: spec.rules[0].filters[1].responseHeaderModifier.set[1].value: the value of header "X-Bell" holds a character no HTTP header may carry (U+0007) ${hint}`,
      ],
    );
  });

  test("a rewrite path with a character no header may carry is a config error", () => {
    const text = route(`  - matches:
    - path: {type: PathPrefix, value: /w}
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: "/a\\u010d\\u010aX"}}
    backendRefs:
    - {name: echo, port: 80}
`);
    assert.deepEqual(
      errors(text).filter((e) => e.includes("replacePrefixMatch")),
      [
        't.yaml:24:73: spec.rules[0].filters[0].urlRewrite.path.replacePrefixMatch: the path holds a character no HTTP header or request line may carry (U+010D) (hint: percent-encode it, e.g. %0A for LF)',
      ],
    );
  });

  test("a forwarded rewrite path with whitespace or # is a config error, ? a warning; a redirect's path may hold #", () => {
    const rewrite = (path: string): string => route(`  - matches:
    - path: {type: PathPrefix, value: /w}
    filters:
    - type: URLRewrite
      urlRewrite: {path: ${path}}
    backendRefs:
    - {name: echo, port: 80}
`);
    const hint = "(hint: percent-encode it (%20 for a space, %23 for #))";
    assert.deepEqual(errors(rewrite('{type: ReplaceFullPath, replaceFullPath: "/a b"}')).filter((e) => e.includes("urlRewrite")), [`t.yaml:24:67: spec.rules[0].filters[0].urlRewrite.path.replaceFullPath: the path holds whitespace, which a request target cannot carry ${hint}`]);
    assert.deepEqual(errors(rewrite('{type: ReplacePrefixMatch, replacePrefixMatch: "/a#b"}')).filter((e) => e.includes("urlRewrite")), [`t.yaml:24:73: spec.rules[0].filters[0].urlRewrite.path.replacePrefixMatch: the prefix holds #, which starts a fragment, which a request target cannot carry ${hint}`]);
    assert.deepEqual(warnings(rewrite('{type: ReplaceFullPath, replaceFullPath: "/a?b=1"}')).filter((e) => e.includes("urlRewrite")), [
      "t.yaml:24:67: spec.rules[0].filters[0].urlRewrite.path.replaceFullPath: warning: the path holds ?, so the rewritten path carries a query of its own before the request's (as in Envoy) (hint: leave queries to the client, or percent-encode it (%3F))",
    ]);
    const redirect = route(`  - matches:
    - path: {type: PathPrefix, value: /w}
    filters:
    - type: RequestRedirect
      requestRedirect: {path: {type: ReplaceFullPath, replaceFullPath: "/docs#intro"}}
`);
    assert.deepEqual(errors(redirect), []);
  });

  test("match names, path characters and section names follow the Gateway API formats", () => {
    const text = route(`  - name: Bad_Rule
    matches:
    - path: {type: PathPrefix, value: "/a b"}
      headers:
      - {name: "x tenant", value: a}
      queryParams:
      - {name: "q(", value: a}
    backendRefs:
    - {name: echo, port: 80}
`).replace("  - name: http\n", "  - name: Public_HTTP\n");
    assert.deepEqual(
      errors(text).filter((e) => !e.includes("Backend")),
      [
        "t.yaml:8:11: spec.listeners[0].name: \"Public_HTTP\" is not a valid listener name (hint: use lower-case letters, digits and '-', starting and ending with a letter or digit (a Gateway API SectionName))",
        "t.yaml:20:11: spec.rules[0].name: \"Bad_Rule\" is not a valid rule name (hint: use lower-case letters, digits and '-', starting and ending with a letter or digit (a Gateway API SectionName))",
        't.yaml:22:39: spec.rules[0].matches[0].path.value: a path match can hold only URL path characters; " " is not one (hint: write it escaped, as requests carry it: %20)',
        "t.yaml:24:16: spec.rules[0].matches[0].headers[0].name: \"x tenant\" is not a valid header name (hint: use letters, digits and !#$%&'*+-.^_`|~ only (an RFC 9110 token))",
        "t.yaml:26:16: spec.rules[0].matches[0].queryParams[0].name: \"q(\" is not a valid query parameter name (hint: use letters, digits and !#$%&'*+-.^_`|~ only (an RFC 9110 token))",
      ],
    );
  });

  test("path match characters: every RFC 3986 path character and %XX escape loads; others get their escapes", () => {
    const rule = (value: string): string => route(`  - matches:\n    - path: {type: PathPrefix, value: "${value}"}\n`);
    assert.deepEqual(errors(rule("/a-b_c.d~e!f$g&h'i(j)k*l+m,n;o=p:q@r%20s")), []);
    assert.deepEqual(errors(rule("/caf\u00e9")), ['t.yaml:21:39: spec.rules[0].matches[0].path.value: a path match can hold only URL path characters; "\u00e9" is not one (hint: write it escaped, as requests carry it: %C3%A9)']);
  });

  test("a parent referred to twice needs a sectionName or port on each ref, and no two alike", () => {
    const text = (refs: string): string => route(`  - backendRefs:\n    - {name: echo, port: 80}\n`).replace("  parentRefs:\n  - name: gw\n", `  parentRefs:\n${refs}`);
    assert.deepEqual(
      errors(text("  - name: gw\n  - {name: gw, namespace: default}\n")).filter((e) => e.includes("parentRefs")),
      [
        "t.yaml:18:5: spec.parentRefs[0]: Gateway gw is referred to 2 times; each of those refs needs a sectionName or a port (hint: add the listener's sectionName (or port) to each, or keep one ref)",
        "t.yaml:19:5: spec.parentRefs[1]: Gateway gw is referred to 2 times; each of those refs needs a sectionName or a port (hint: add the listener's sectionName (or port) to each, or keep one ref)",
      ],
    );
    assert.deepEqual(
      errors(text("  - {name: gw, sectionName: http}\n  - {name: gw, sectionName: http}\n")).filter((e) => e.includes("parentRefs")),
      ["t.yaml:19:5: spec.parentRefs[1]: the same parentRef as parentRefs[0] (hint: remove the duplicate)"],
    );
    assert.deepEqual(errors(text("  - {name: gw, sectionName: http}\n  - {name: gw, port: 8080}\n")).filter((e) => e.includes("parentRefs")), []);
  });

  test("routes: bad regexes, backendRequest > request, filter without config, ReplacePrefixMatch on Exact and Service without port fail; a missing Backend and a cross-namespace ref without grant warn of their 500s", () => {
    const text = route(`  - matches:
    - path:
        type: RegularExpression
        value: "/api/(v1"
      headers:
      - name: X-Tenant
        type: RegularExpression
        value: "[a"
    timeouts:
      request: 10s
      backendRequest: 30s
  - matches:
    - path: {type: Exact, value: /x}
    filters:
    - type: RequestHeaderModifier
    - type: URLRewrite
      urlRewrite:
        path: {type: ReplacePrefixMatch, replacePrefixMatch: /y}
    backendRefs:
    - name: missing
      kind: Backend
      group: gateway.tollgate.dev
    - name: svc
    - name: other
      namespace: elsewhere
      port: 80
`);
    assert.deepEqual(errors(text), [
      "t.yaml:23:16: spec.rules[0].matches[0].path.value: invalid regular expression: Unterminated group (hint: use ECMAScript regular expression syntax)",
      "t.yaml:27:16: spec.rules[0].matches[0].headers[0].value: invalid regular expression: Unterminated character class (hint: use ECMAScript regular expression syntax)",
      "t.yaml:30:23: spec.rules[0].timeouts.backendRequest: backendRequest (30s) is longer than request (10s) (hint: backendRequest must not exceed request)",
      "t.yaml:34:7: spec.rules[1].filters[0].requestHeaderModifier: type RequestHeaderModifier needs requestHeaderModifier (hint: add requestHeaderModifier)",
      "t.yaml:37:22: spec.rules[1].filters[1].urlRewrite.path.type: ReplacePrefixMatch needs every match of the rule to be a PathPrefix match (hint: use ReplaceFullPath, or PathPrefix matches)",
      "t.yaml:42:7: spec.rules[1].backendRefs[1].port: a Service reference needs a port (hint: add port: <service port>)",
    ]);
    assert.deepEqual(warnings(text), [
      't.yaml:39:13: spec.rules[1].backendRefs[0].name: warning: Backend default/missing is not defined in the file; requests this backendRef would take are answered 500 (Gateway API: ResolvedRefs False) (hint: add a gateway.tollgate.dev/v1alpha1 Backend named "missing" in namespace "default")',
      't.yaml:43:7: spec.rules[1].backendRefs[2]: warning: reference to Service elsewhere/other crosses namespaces and no ReferenceGrant in "elsewhere" allows it; requests this backendRef would take are answered 500 (Gateway API: ResolvedRefs False) (hint: add a ReferenceGrant in namespace "elsewhere" with from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: default}] and to: [{group: "", kind: Service, name: other}])',
    ]);
  });

  test("CEL filter errors carry their position inside the expression", () => {
    assert.deepEqual(errors(telemetryPolicy(`  accessLogs:\n    matches: "response.code >= 500 && request.methd == 'GET'"\n`)), [
      "t.yaml:22:47: spec.accessLogs.matches: invalid CEL filter: No such key: methd (at character 33) (hint: variables: request, response, connection, upstream, route (see docs/configuration.md))",
    ]);
    assert.deepEqual(errors(telemetryPolicy(`  accessLogs:\n    matches: response.code >=\n`)), [
      "t.yaml:22:30: spec.accessLogs.matches: invalid CEL filter: Unexpected token: EOF (at character 17) (hint: variables: request, response, connection, upstream, route (see docs/configuration.md))",
    ]);
    assert.deepEqual(errors(telemetryPolicy(`  accessLogs:\n    matches: request.path\n`)), [
      "t.yaml:22:14: spec.accessLogs.matches: invalid CEL filter: the filter must be a bool expression, this one is string (hint: variables: request, response, connection, upstream, route (see docs/configuration.md))",
    ]);
  });

  test("a CEL filter's matches() patterns get the route patterns' checks, at their place in the expression", () => {
    const filter = (expr: string): string => telemetryPolicy(`  accessLogs:\n    matches: '${expr}'\n`);
    assert.deepEqual(errors(filter(String.raw`request.path.matches("(x)\\1") || request.path.matches("(?i:(a+)+b)") || request.path.matches("[")`)), [
      "t.yaml:22:36: spec.accessLogs.matches: matches(): the backreference \\1 is not RE2 syntax (the Gateway API's and Envoy's), and such a pattern can take time exponential in the request to match (at character 22) (hint: rewrite it without backreferences and lookarounds)",
      "t.yaml:22:70: spec.accessLogs.matches: matches(): the repeated group (a+)+ repeats a repeat, which can take time exponential in the request to match, and V8's linear-time engine, which takes over from a match that backtracks too much, cannot run this pattern (it takes no repeat count above 16 and no inline modifier such as (?i:…)) (at character 56) (hint: drop one of the two repeats (`(a+)+` matches what `a+` does), or keep repeat counts at 16 or below)",
      "t.yaml:22:109: spec.accessLogs.matches: matches(): invalid regular expression: Unterminated character class (at character 95) (hint: use ECMAScript regular expression syntax)",
    ]);
    const computed = filter(`request.path.matches(request.headers["x-re"]) && request.path.matches("^/api/(a+)+b")`);
    assert.deepEqual(errors(computed), []);
    assert.deepEqual(warnings(computed), [
      "t.yaml:22:36: spec.accessLogs.matches: warning: this matches() pattern is computed, so the config cannot check it, and a pattern built from the request could take time exponential in the request to match (at character 22) (hint: write the pattern as a string literal)",
    ]);
  });

  test("a regular expression with a backreference or a lookaround is refused; other RE2 syntax V8's linear engine lacks is not", () => {
    const text = route(`  - matches:
    - path: {type: RegularExpression, value: "/a/(x+)\\\\1"}
      headers: [{name: x-v, type: RegularExpression, value: "(?!admin).*"}, {name: x-w, type: RegularExpression, value: "[\\\\1(?=]+"}]
      queryParams: [{name: q, type: RegularExpression, value: "(a+)+b"}]
    backendRefs:
    - {name: svc, port: 80}
  - matches:
    - path: {type: RegularExpression, value: "/blobs/sha256:[a-f0-9]{64}"}
      headers: [{name: authorization, type: RegularExpression, value: "(?i:bearer) .*"}, {name: x-n, type: RegularExpression, value: "(?<n>a)b"}]
    backendRefs:
    - {name: svc, port: 80}
`);
    assert.deepEqual(errors(text), [
      "t.yaml:21:46: spec.rules[0].matches[0].path.value: the backreference \\1 is not RE2 syntax (the Gateway API's and Envoy's), and such a pattern can take time exponential in the request to match (hint: rewrite it without backreferences and lookarounds)",
      "t.yaml:22:61: spec.rules[0].matches[0].headers[0].value: the lookaround (?! is not RE2 syntax (the Gateway API's and Envoy's), and such a pattern can take time exponential in the request to match (hint: rewrite it without backreferences and lookarounds)",
    ]);
  });

  test("RE2 syntax JavaScript reads with another meaning is refused with the JavaScript to write instead", () => {
    const text = route(`  - matches:
    - path: {type: RegularExpression, value: "/v[[:digit:]]+/.*"}
      headers: [{name: x-a, type: RegularExpression, value: "\\\\pL+"}, {name: x-b, type: RegularExpression, value: "\\\\Q1.2\\\\E"}]
      queryParams: [{name: q, type: RegularExpression, value: "[[:^space:]]+"}, {name: r, type: RegularExpression, value: "\\\\Aab\\\\z"}]
    backendRefs:
    - {name: svc, port: 80}
  - matches:
    - path: {type: RegularExpression, value: "/[]x]+"}
      headers: [{name: x-c, type: RegularExpression, value: "\\\\x{263a}"}, {name: x-d, type: RegularExpression, value: "[\\\\[:digit:]]+|[^]"}]
    backendRefs:
    - {name: svc, port: 80}
  - matches:
    - path: {type: RegularExpression, value: "/files/[^]/]+"}
    backendRefs:
    - {name: svc, port: 80}
`);
    const re2Only = (at: string, construct: string, instead: string): string =>
      `${at}: ${construct} is RE2 syntax that JavaScript, the dialect Tollgate runs patterns in, reads with another meaning (hint: write ${instead})`;
    assert.deepEqual(errors(text), [
      re2Only("t.yaml:21:46: spec.rules[0].matches[0].path.value", "[:digit:]", "its characters inside the class, `0-9`"),
      re2Only("t.yaml:22:61: spec.rules[0].matches[0].headers[0].value", "\\pL", "the characters listed in a class (Unicode property classes need a flag Gateway API patterns cannot set)"),
      re2Only("t.yaml:22:115: spec.rules[0].matches[0].headers[1].value", "\\Q1.2\\E", "the text with each metacharacter escaped by `\\`"),
      re2Only("t.yaml:23:63: spec.rules[0].matches[0].queryParams[0].value", "[:^space:]", "a negated class of `\\t\\n\\v\\f\\r ` (RE2's [:^space:])"),
      re2Only("t.yaml:23:123: spec.rules[0].matches[0].queryParams[1].value", "\\A", "`^` (a pattern is matched whole anyway)"),
      re2Only("t.yaml:27:46: spec.rules[1].matches[0].path.value", "[]", "`\\]` for a `]` inside the class"),
      re2Only("t.yaml:28:61: spec.rules[1].matches[0].headers[0].value", "\\x{263a}", "`\\u263a`"),
      re2Only("t.yaml:32:46: spec.rules[2].matches[0].path.value", "[^]", "`[^\\]…]` for a negated class holding `]`, or `[\\s\\S]` for any character"),
    ]);
  });

  test("an Exact query value written percent-encoded or with a + warns that values are compared decoded", () => {
    const text = route(`  - matches:
    - queryParams: [{name: q, value: "a%20b"}, {name: r, value: "c++"}, {name: s, value: "plain value"}, {name: t, type: RegularExpression, value: "x+"}]
    backendRefs:
    - {name: svc, port: 80}
`);
    assert.deepEqual(errors(text), []);
    assert.deepEqual(warnings(text), [
      't.yaml:21:38: spec.rules[0].matches[0].queryParams[0].value: warning: query values are compared percent-decoded, so %20 here matches only a request that encodes it twice (%2520) (hint: write the value decoded: "a b")',
      "t.yaml:21:65: spec.rules[0].matches[0].queryParams[1].value: warning: query values are compared decoded and a + in a request's query decodes to a space, so this + matches only %2B (hint: write a space to match a +, or keep the + if %2B is what clients send)",
    ]);
  });

  test("a repeat around a repeat is refused where V8's linear engine cannot take over; a repeat around an alternation is warned about", () => {
    const text = route(`  - matches:
    - path: {type: RegularExpression, value: "/api/(?i:(a+)+b)"}
      headers: [{name: x-v, type: RegularExpression, value: "(a+){1,64}b"}, {name: x-w, type: RegularExpression, value: "[(a+)+]{1,64}"}]
      queryParams: [{name: q, type: RegularExpression, value: "((?:a{1,20}))+"}, {name: r, type: RegularExpression, value: "(?:a|aa){1,17}c"}]
    backendRefs:
    - {name: svc, port: 80}
  - matches:
    - path: {type: RegularExpression, value: "/v/(a+)+b"}
      headers: [{name: x-n, type: RegularExpression, value: "(?:[a-f0-9]{64})+"}, {name: x-o, type: RegularExpression, value: "(ab){16}x{1,20}"}]
      queryParams: [{name: q, type: RegularExpression, value: "(?:get|post)+"}, {name: r, type: RegularExpression, value: "a{1,17}(b+)?"}]
    backendRefs:
    - {name: svc, port: 80}
`);
    const why = "V8's linear-time engine, which takes over from a match that backtracks too much, cannot run this pattern (it takes no repeat count above 16 and no inline modifier such as (?i:…))";
    const hint = "(hint: drop one of the two repeats (`(a+)+` matches what `a+` does), or keep repeat counts at 16 or below)";
    assert.deepEqual(errors(text), [
      `t.yaml:21:46: spec.rules[0].matches[0].path.value: the repeated group (a+)+ repeats a repeat, which can take time exponential in the request to match, and ${why} ${hint}`,
      `t.yaml:22:61: spec.rules[0].matches[0].headers[0].value: the repeated group (a+){1,64} repeats a repeat, which can take time exponential in the request to match, and ${why} ${hint}`,
      `t.yaml:23:63: spec.rules[0].matches[0].queryParams[0].value: the repeated group ((?:a{1,20}))+ repeats a repeat, which can take time exponential in the request to match, and ${why} ${hint}`,
    ]);
    // The second rule's patterns nest repeats only where the linear engine can run them, or nest nothing.
    // A delimiter the inner repeat cannot match splits the iterations one way: those load without a word.
    const delimited = route(`  - matches:
    - path: {type: RegularExpression, value: "/v2/(?:[a-z0-9]+/)+blobs/sha256:[a-f0-9]{64}"}
      headers: [{name: x-ip, type: RegularExpression, value: "(?:\\\\d{1,3}\\\\.){3}\\\\d{1,3}/[a-f0-9]{32}"}, {name: x-w, type: RegularExpression, value: "(?:\\\\w+\\\\W)+x{17}"}]
      queryParams: [{name: q, type: RegularExpression, value: "(?i:/api/(?:[a-z]+/)*items)"}]
    backendRefs:
    - {name: svc, port: 80}
`);
    assert.deepEqual([errors(delimited), warnings(delimited)], [[], []]);
    // Unless something else in the body can match the delimiter (case-insensitively too), or two
    // variable pieces, or an alternation, can trade characters around it (each of these took
    // seconds on under 90 characters).
    assert.deepEqual(
      errors(route(`  - matches:
    - path: {type: RegularExpression, value: "/(?:.+/)+x{17}"}
      headers: [{name: x-a, type: RegularExpression, value: "(?i:(?:[a-z]+A)+)x{17}"}, {name: x-b, type: RegularExpression, value: "(?i:/api/(?:[a-z0-9]*-[a-z0-9]*)+)"}]
      queryParams: [{name: c, type: RegularExpression, value: "(?i:/files(?:/[a-z]+\\\\w*)+)"}, {name: d, type: RegularExpression, value: "(?i:/api(?:/(?:v\\\\d+|\\\\w+))+)"}]
    backendRefs:
    - {name: svc, port: 80}
`)).map((e) => e.replace(/ which can take .*$/, "").replace(/^t\.yaml:\d+:\d+: /, "")),
      [
        "spec.rules[0].matches[0].path.value: the repeated group (?:.+/)+ repeats a repeat,",
        "spec.rules[0].matches[0].headers[0].value: the repeated group (?:[a-z]+A)+ repeats a repeat,",
        "spec.rules[0].matches[0].headers[1].value: the repeated group (?:[a-z0-9]*-[a-z0-9]*)+ repeats a repeat,",
        "spec.rules[0].matches[0].queryParams[0].value: the repeated group (?:/[a-z]+\\w*)+ repeats a repeat,",
        "spec.rules[0].matches[0].queryParams[1].value: the repeated group (?:/(?:v\\d+|\\w+))+ repeats a repeat,",
      ],
    );
    assert.deepEqual(warnings(text), [
      `t.yaml:23:124: spec.rules[0].matches[0].queryParams[1].value: warning: the repeated group (?:a|aa){1,17} can take time exponential in the request to match when its branches overlap, and ${why} (hint: make the branches exclusive, or keep repeat counts at 16 or below)`,
    ]);
  });

  test("two repeats that can share a run of characters are refused where V8's linear engine cannot take over", () => {
    const text = route(`  - matches:
    - path: {type: RegularExpression, value: "/a*a*a*\\\\d{32}"}
      headers: [{name: x-v, type: RegularExpression, value: ".*x.*y{17}"}, {name: x-w, type: RegularExpression, value: "(?i:[a-z]+b?[a-z0-9]*)"}]
    backendRefs:
    - {name: svc, port: 80}
  - matches:
    - path: {type: RegularExpression, value: "/api/.*/items/.*\\\\d{20}"}
      headers: [{name: x-n, type: RegularExpression, value: "/[a-z]+/[0-9]+/\\\\d{20}"}, {name: x-o, type: RegularExpression, value: ".*.*"}]
    backendRefs:
    - {name: svc, port: 80}
`);
    const why = "V8's linear-time engine, which takes over from a match that backtracks too much, cannot run this pattern (it takes no repeat count above 16 and no inline modifier such as (?i:…))";
    const hint = "(hint: put a character only one of them matches between the two repeats, bound one of them, or keep repeat counts at 16 or below)";
    const polynomial = (pair: string): string => `the repeats ${pair} can split the same run of characters many ways, which can take time polynomial in the request to match, and ${why} ${hint}`;
    assert.deepEqual(errors(text), [
      `t.yaml:21:46: spec.rules[0].matches[0].path.value: ${polynomial("a* and a*")}`,
      `t.yaml:22:61: spec.rules[0].matches[0].headers[0].value: ${polynomial(".* and .*")}`,
      `t.yaml:22:120: spec.rules[0].matches[0].headers[1].value: ${polynomial("[a-z]+ and [a-z0-9]*")}`,
    ]);
    // The second rule: a literal neither repeat can share keeps the runs apart (`/items/`,
    // `/`), and a pattern the linear engine runs needs no check.
    assert.deepEqual(warnings(text), []);
  });

  test("a DirectResponse with status 204 or 304 may not carry a body", () => {
    const direct = (status: number, body: string): string => route(`  - filters:
    - type: ExtensionRef
      extensionRef: {group: gateway.kgateway.dev, kind: DirectResponse, name: empty}
`) + `---
apiVersion: gateway.kgateway.dev/v1alpha1
kind: DirectResponse
metadata:
  name: empty
spec:
  status: ${status}
  body: ${JSON.stringify(body)}
`;
    assert.deepEqual(errors(direct(204, "hello")), ['t.yaml:30:9: spec.body: a 204 response carries no body (hint: remove the body, or use another status such as 200)']);
    assert.deepEqual(errors(direct(304, "x")), ['t.yaml:30:9: spec.body: a 304 response carries no body (hint: remove the body, or use another status such as 200)']);
    assert.deepEqual(errors(direct(204, "")), []);
  });

  test("an unparseable exporter endpoint is named without its credentials", () => {
    const [error] = errors(telemetryPolicy(`  tracing:\n    provider: {endpoint: "tenant:ab/cd@collector:4317"}\n`));
    assert.match(error!, /^t\.yaml:\d+:\d+: spec\.tracing\.provider\.endpoint: "\[REDACTED\]@collector:4317" is not a host:port or URL \(hint: /);
    const [withScheme] = errors(telemetryPolicy(`  tracing:\n    provider: {endpoint: "https://tenant:ab/cd@collector:4318"}\n`));
    assert.match(withScheme!, /: "https:\/\/\[REDACTED\]@collector:4318" is not a host:port or URL/);
  });

  test("unknown Envoy command operator with its position", () => {
    const text = listenerPolicy(`  accessLog:
  - openTelemetry:
      grpcService:
        backendRef: {name: otel, port: 4317}
      body: "%REQ(:METHOD)% %RESPONSE_CODES% 100%"
`);
    assert.deepEqual(errors(text), [
      "t.yaml:25:29: spec.accessLog[0].openTelemetry.body: unknown command operator %RESPONSE_CODES% (at character 16) (hint: see docs/configuration.md for the command operators Tollgate renders)",
      "t.yaml:25:49: spec.accessLog[0].openTelemetry.body: a lone '%' does not start a command operator (write %% for a literal percent) (at character 36) (hint: see docs/configuration.md for the command operators Tollgate renders)",
    ]);
  });

  test("log fields: credential headers need allowSensitive, unknown Standard value, mismatched value field", () => {
    const text = telemetryPolicy(`  accessLogs:
    fields:
    - name: auth
      type: Header
      headerName: Authorization
    - name: cookie
      type: Header
      headerName: Cookie
      allowSensitive: true
    - name: t
      type: Standard
      standardValue: ResponseCod
    - name: t2
      type: Literal
      headerName: x
`);
    const result = load(text);
    assert.deepEqual(lines(result, "error"), [
      't.yaml:25:19: spec.accessLogs.fields[0].headerName: header "Authorization" carries credentials and is not captured by default (hint: add allowSensitive: true next to it to capture it anyway)',
      't.yaml:32:22: spec.accessLogs.fields[2].standardValue: unknown standard field "ResponseCod" (hint: did you mean "ResponseCode"?)',
      "t.yaml:33:7: spec.accessLogs.fields[3].literalValue: type Literal needs literalValue (hint: add literalValue)",
      "t.yaml:35:19: spec.accessLogs.fields[3].headerName: headerName is set but type is Literal (hint: set type: Header or remove headerName)",
    ]);
  });

  test("an opted-in credential header loads", () => {
    const result = load(telemetryPolicy(`  accessLogs:\n    fields:\n    - name: cookie\n      type: Header\n      headerName: Cookie\n      allowSensitive: true\n`));
    assert.deepEqual(result.config?.gateways[0]!.telemetry.accessLogs[0]!.fields, [{ name: "cookie", type: "Header", header: "cookie", allowSensitive: true }]);
  });

  test("listener limits: contradicting trust settings and a zero keep-alive", () => {
    assert.deepEqual(errors(listenerPolicy("  useRemoteAddress: false\n  trustForwardedHeaders: false\n  idleTimeout: 0s\n")), [
      "t.yaml:21:21: spec.useRemoteAddress: useRemoteAddress: false trusts X-Forwarded-For, but trustForwardedHeaders is false (hint: set only one of them)",
      "t.yaml:23:16: spec.idleTimeout: idleTimeout must be greater than 0 (hint: e.g. 5s)",
    ]);
  });

  test("Backend endpoints: exactly one of fqdn/ip, and ip must be an address", () => {
    const text = `apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: b}
spec:
  endpoints:
  - {}
  - ip: {address: example.com, port: 80}
`;
    assert.deepEqual(errors(text), [
      "t.yaml:6:5: spec.endpoints[0]: an endpoint needs fqdn or ip (hint: write {fqdn: {hostname, port}} or {ip: {address, port}})",
      't.yaml:7:19: spec.endpoints[1].ip.address: "example.com" is not an IP address (hint: use fqdn for host names)',
    ]);
  });
});

describe("path match escapes", () => {
  test("a . or .. segment is an error: resolving it would widen the match", () => {
    assert.deepEqual(errors(route("  - matches:\n    - path: {type: PathPrefix, value: /internal/..}\n    backendRefs:\n    - {name: svc, port: 80}\n")), [
      't.yaml:21:39: spec.rules[0].matches[0].path.value: a path match cannot contain . or .. segments (hint: write "/" if that is the path meant)',
    ]);
  });

  test("a % that starts no escape is an error", () => {
    assert.deepEqual(errors(route("  - matches:\n    - path: {type: Exact, value: /bad%zz}\n    backendRefs:\n    - {name: svc, port: 80}\n")), [
      "t.yaml:21:34: spec.rules[0].matches[0].path.value: every % in a path match must start an escape of two hex digits other than %00 (hint: write a literal % as %25; requests with %00 in the path are refused)",
    ]);
  });

  test("an escaped NUL is an error: requests holding one are refused", () => {
    assert.deepEqual(errors(route("  - matches:\n    - path: {type: PathPrefix, value: /files%00}\n    backendRefs:\n    - {name: svc, port: 80}\n")), [
      "t.yaml:21:39: spec.rules[0].matches[0].path.value: every % in a path match must start an escape of two hex digits other than %00 (hint: write a literal % as %25; requests with %00 in the path are refused)",
    ]);
  });
});

describe("warnings", () => {
  test("a route whose sectionName matches no listener attaches nowhere", () => {
    const text = route("  - backendRefs:\n    - {name: svc, port: 80}\n").replace("  - name: gw\n", "  - name: gw\n    sectionName: htp\n");
    const result = load(text);
    assert.deepEqual(lines(result, "warning"), [
      't.yaml:19:18: spec.parentRefs[0].sectionName: warning: Gateway default/gw has no listener "htp"; this parentRef is ignored (hint: did you mean "http"?)',
      "t.yaml:18:3: spec.parentRefs: warning: the route attaches to no gateway listener and serves no traffic",
    ].sort((a, b) => Number(a.split(":")[1]) - Number(b.split(":")[1])));
    assert.deepEqual(result.config?.routes, []);
  });

  test("a path match that normalisation changes is matched in its normal form, with a warning", () => {
    const text = route("  - matches:\n    - path: {type: PathPrefix, value: /caf%c3%a9//x/}\n    backendRefs:\n    - {name: svc, port: 80}\n");
    assert.deepEqual(warnings(text), [
      't.yaml:21:39: spec.rules[0].matches[0].path.value: warning: requests are normalised before routing, so this matches "/caf%C3%A9/x/" (hint: write "/caf%C3%A9/x/")',
    ]);
    assert.deepEqual(load(text).config?.routes[0]?.rules[0]?.matches[0]?.path, { type: "PathPrefix", value: "/caf%C3%A9/x/" });
  });

  test("a path match with %2F or ; warns that its requests may be refused", () => {
    assert.deepEqual(warnings(route("  - matches:\n    - path: {type: Exact, value: /files/a%2Fb}\n    backendRefs:\n    - {name: svc, port: 80}\n")), [
      "t.yaml:21:34: spec.rules[0].matches[0].path.value: warning: servers that decode %2F or drop ;parameters read this path differently; its requests get 400 invalid_path unless that reading picks the same rule (hint: match the path without %2F, %5C or ;)",
    ]);
  });

  test("a RegularExpression path that spells out text no normalised path holds warns, and still loads", () => {
    const text = route("  - matches:\n    - path: {type: RegularExpression, value: '/files/%2f.*'}\n    backendRefs:\n    - {name: svc, port: 80}\n");
    assert.deepEqual(warnings(text), [
      't.yaml:21:46: spec.rules[0].matches[0].path.value: warning: requests are normalised before routing and the hex of escapes is upper-cased, so no request path contains "%2f" where this pattern needs it (hint: write %2F)',
    ]);
    assert.deepEqual(load(text).config?.routes[0]?.rules[0]?.matches[0]?.path, { type: "RegularExpression", value: "/files/%2f.*" });
    assert.deepEqual(warnings(route("  - matches:\n    - path: {type: RegularExpression, value: '/files/%2F.*'}\n    backendRefs:\n    - {name: svc, port: 80}\n")), []);
  });

  test("allowedRoutes Same rejects a route from another namespace", () => {
    const text = route("  - backendRefs:\n    - {name: svc, port: 80}\n").replace("  name: web\n", "  name: web\n  namespace: team\n").replace("  - name: gw\n", "  - name: gw\n    namespace: default\n");
    assert.deepEqual(warnings(text), [
      "t.yaml:19:3: spec.parentRefs: warning: the route attaches to no gateway listener and serves no traffic",
      't.yaml:19:5: spec.parentRefs[0]: warning: Gateway default/gw does not accept this route: listener "http" admits routes from namespace "default" only (hint: check allowedRoutes, sectionName, port and hostnames)',
    ]);
  });

  test("a policy targeting a gateway that is not in the file", () => {
    assert.deepEqual(warnings(listenerPolicy("  tracing: {}\n").replace("    name: gw\n  tracing", "    name: nope\n  tracing")), [
      "t.yaml:20:11: spec.targetRefs[0].name: warning: Gateway default/nope is not in the file; this targetRef has no effect",
    ]);
  });

  test("two TelemetryPolicies on one gateway: the oldest wins", () => {
    const a = telemetryPolicy("  tracing:\n    samplingRate: {numerator: 1}\n").replace("  name: tp\n", "  name: newer\n  creationTimestamp: 2025-06-01T00:00:00Z\n");
    const b = `---
apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: TelemetryPolicy
metadata:
  name: older
  creationTimestamp: 2024-01-01T00:00:00Z
spec:
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: Gateway, name: gw}
  tracing:
    mode: Disabled
`;
    const result = load(a + b);
    assert.equal(result.config?.gateways[0]!.telemetry.tracing?.enabled, false);
    assert.deepEqual(lines(result, "warning"), [
      "t.yaml:19:5: spec.targetRefs[0]: warning: Gateway default/gw already has TelemetryPolicy default/older, which is older; this policy is ignored for it (hint: only one TelemetryPolicy may target a Gateway)",
    ]);
  });
});

describe("schema errors do not cascade", () => {
  test("a route referencing a Gateway and a Backend that failed the schema gets no 'not in the file' findings", () => {
    const text = `${GATEWAY.replace("    protocol: HTTP\n", "    protocol: HTTP\n    colour: blue\n")}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{group: gateway.tollgate.dev, kind: Backend, name: b}]
---
apiVersion: gateway.tollgate.dev/v1alpha1
kind: Backend
metadata: {name: b}
spec:
  endpoints: [{ip: {address: 127.0.0.1}}]
`;
    const result = load(text);
    assert.deepEqual(
      result.diagnostics.filter((d) => d.severity !== "info").map((d) => `${d.severity} ${d.line}:${d.col} ${d.path}`),
      ["error 11:5 spec.listeners[0].colour", "error 25:20 spec.endpoints[0].ip.port"],
    );
  });
});
