import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse as parseYaml } from "yaml";
import { CHART_DIR, helmWithValues, NAMESPACE, RELEASE } from "./helm.js";

const SCHEMA_ERROR = "values don't meet the specifications of the schema";

function template(values: object) {
  return helmWithValues(["template", RELEASE, CHART_DIR, "--namespace", NAMESPACE], values);
}

test("values.schema.json rejects bad values with Helm's error naming the field", () => {
  const cases: [object, RegExp][] = [
    [{ replicaCount: 0 }, /\/replicaCount/],
    [{ replicaCount: "two" }, /\/replicaCount/],
    [{ unknownTopLevel: true }, /additional properties 'unknownTopLevel' not allowed/],
    [{ controller: { concurrency: 0 } }, /\/controller\/concurrency/],
    [{ controller: { logLevel: "loud" } }, /\/controller\/logLevel/],
    [{ controller: { resyncPeriod: "10 minutes" } }, /\/controller\/resyncPeriod/],
    [{ controller: { tenantRemediation: "Sometimes" } }, /\/controller\/tenantRemediation/],
    [{ controller: { namespaces: ["Team_A"] } }, /\/controller\/namespaces\/0/],
    [{ controller: { extraArgs: ["--ok", "not-a-flag"] } }, /\/controller\/extraArgs\/1/],
    [{ image: { digest: "latest" } }, /\/image\/digest/],
    [{ image: { pullPolicy: "Sometimes" } }, /\/image\/pullPolicy/],
    [{ azure: { workloadIdentity: { clientId: "not-a-guid" } } }, /\/azure\/workloadIdentity\/clientId/],
    [
      { azure: { workloadIdentity: { clientId: "not-a-guid-11111111-2222-4333-8444-555555555555" } } },
      /\/azure\/workloadIdentity\/clientId/,
    ],
    [{ controller: { leaderElection: { id: "Not A Lease/azid" } } }, /\/controller\/leaderElection\/id/],
    [{ azure: { armEndpoint: "http://management.azure.com" } }, /\/azure\/armEndpoint/],
    [
      { azure: { credentialsFile: { content: { subscriptions: { "not-a-guid": { tenantId: "x" } } } } } },
      /subscriptions/,
    ],
    [
      {
        azure: {
          credentialsFile: {
            content: {
              default: { tenantId: "66666666-7777-4888-9999-aaaaaaaaaaaa", clientSecret: "s3cr3t" },
            },
          },
        },
      },
      /clientSecret/,
    ],
    [{ redis: { external: { url: "http://redis:6379" } } }, /\/redis\/external\/url/],
    [{ redis: { bundled: { maxmemory: "lots" } } }, /\/redis\/bundled\/maxmemory/],
    [{ redis: { bundled: { extra: 1 } } }, /additional properties 'extra' not allowed/],
    [{ metrics: { port: 80 } }, /\/metrics\/port/],
    [{ metrics: { prometheusRule: { reconcileErrorRatio: 2 } } }, /reconcileErrorRatio/],
    [
      { networkPolicy: { apiServer: { cidrs: ["10.0.0.1"], ports: [443] } } },
      /\/networkPolicy\/apiServer\/cidrs\/0/,
    ],
    [{ podDisruptionBudget: { maxUnavailable: "half" } }, /maxUnavailable/],
    [{ admissionPolicy: { validationActions: ["Deny", "Warn"] } }, /validationActions/],
    [{ admissionPolicy: { validationActions: ["Block"] } }, /validationActions/],
    [{ admissionPolicy: { privilegedGrants: { optInLabel: "not a label" } } }, /optInLabel/],
  ];
  for (const [values, field] of cases) {
    const result = template(values);
    const where = JSON.stringify(values);
    assert.notEqual(result.status, 0, `${where} was accepted`);
    assert.ok(result.stderr.includes(SCHEMA_ERROR), `${where}: ${result.stderr}`);
    assert.match(result.stderr, field, where);
  }
});

test("every pattern of values.schema.json is anchored at the start of each alternative", () => {
  // "^$|GUID$" accepted "not-a-guid-<GUID>": an alternative without its own ^ matches mid-string.
  const patterns: string[] = [];
  const collect = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(collect);
    else if (node && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) {
        if (key === "pattern" && typeof value === "string") patterns.push(value);
        else collect(value);
      }
    }
  };
  collect(JSON.parse(readFileSync(join(CHART_DIR, "values.schema.json"), "utf8")));
  const topLevelAlternatives = (pattern: string): string[] => {
    const parts: string[] = [];
    let depth = 0;
    let start = 0;
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i];
      if (c === "\\") i++;
      else if (c === "(" || c === "[") depth++;
      else if (c === ")" || c === "]") depth--;
      else if (c === "|" && depth === 0) {
        parts.push(pattern.slice(start, i));
        start = i + 1;
      }
    }
    return [...parts, pattern.slice(start)];
  };
  const loose = patterns.filter((pattern) =>
    topLevelAlternatives(pattern).some((part) => !part.startsWith("^")),
  );
  assert.ok(patterns.length > 10, "the schema's patterns were found");
  assert.deepEqual(loose, [], "patterns with an alternative not anchored by ^");
});

test("values.schema.json accepts the documented shapes", () => {
  for (const values of [
    { podDisruptionBudget: { maxUnavailable: "50%" } },
    { podDisruptionBudget: { minAvailable: 1 } },
    { admissionPolicy: { validationActions: ["Warn", "Audit"] } },
    { controller: { resyncPeriod: "1h30m" }, image: { digest: `sha256:${"a".repeat(64)}` } },
    { global: { imageRegistry: "example.azurecr.io" } },
  ]) {
    const result = template(values);
    assert.equal(result.status, 0, `${JSON.stringify(values)}: ${result.stderr}`);
  }
});

test("the schema describes every value of values.yaml, and refuses unknown keys in each section", () => {
  const schema = JSON.parse(readFileSync(join(CHART_DIR, "values.schema.json"), "utf8"));
  const values = parseYaml(readFileSync(join(CHART_DIR, "values.yaml"), "utf8"));
  const resolve = (node: { $ref?: string }) =>
    node.$ref ? schema.definitions[node.$ref.replace("#/definitions/", "")] : node;
  const missing: string[] = [];
  const open: string[] = [];
  const walk = (value: unknown, node: Record<string, unknown>, path: string) => {
    const resolved = resolve(node);
    if (value === null || typeof value !== "object" || Array.isArray(value) || !resolved.properties) return;
    if (resolved.additionalProperties !== false) open.push(path);
    for (const [key, item] of Object.entries(value)) {
      const child = resolved.properties[key];
      if (!child) missing.push(`${path}.${key}`);
      else walk(item, child, `${path}.${key}`);
    }
  };
  walk(values, schema, "");
  assert.deepEqual(missing, [], "values without a schema");
  assert.deepEqual(open, [], "sections that accept unknown keys");
});
