// `tollgate schema` output: a real JSON Schema that accepts the seed documents, rejects
// unknown fields in implemented kinds, and lets other Kubernetes kinds through.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Ajv } from "ajv";
import { parseAllDocuments } from "yaml";
import { configJsonSchema } from "../../src/config/schema.ts";
import { seedSnippets } from "./seed-snippets.ts";

const validate = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true }).compile(configJsonSchema());

test("every full resource in the seeds validates against the published schema", () => {
  let checked = 0;
  for (const seed of ["001-kgateway-tracing-docs.txt", "002-gep-telemetry-policy.txt", "003-agentgateway-otel-readme.md"]) {
    for (const snippet of seedSnippets(seed)) {
      for (const doc of parseAllDocuments(snippet.text) as ReturnType<typeof parseAllDocuments> & unknown[]) {
        const value = (doc as { toJS(): unknown }).toJS() as Record<string, unknown> | null;
        if (value === null || typeof value !== "object" || Array.isArray(value) || !("kind" in value)) continue;
        checked++;
        assert.equal(validate(value), true, `${seed}:${snippet.line} ${String(value["kind"])}: ${JSON.stringify(validate.errors)}`);
      }
    }
  }
  assert.ok(checked >= 10, `checked ${checked} documents`);
});

test("an unknown field in an implemented kind fails; an unimplemented kind passes", () => {
  const gateway = { apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway", metadata: { name: "g" }, spec: { gatewayClassName: "c", listeners: [{ name: "h", port: 80, protocol: "HTTP" }] } };
  assert.equal(validate(gateway), true);
  assert.equal(validate({ ...gateway, spec: { ...gateway.spec, colour: "blue" } }), false);
  assert.equal(validate({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d" }, spec: { anything: true } }), true);
  assert.equal(validate({ apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway", metadata: { name: "g" }, spec: { colour: "blue" } }), false);
});
