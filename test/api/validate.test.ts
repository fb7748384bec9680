import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { validateResource } from "../../src/api/validate.js";
import { PACKAGE_ROOT } from "../../src/util/paths.js";

interface Case {
  name: string;
  rule: string;
  valid: boolean;
  field?: string;
  old?: unknown;
  object: unknown;
}

const FIXTURES = join(PACKAGE_ROOT, "test", "api", "fixtures");

for (const file of readdirSync(FIXTURES).filter((name) => name.endsWith(".yaml"))) {
  const { cases } = parse(readFileSync(join(FIXTURES, file), "utf8")) as { cases: Case[] };
  describe(`fixtures ${file}`, () => {
    for (const fixture of cases) {
      test(`${fixture.valid ? "accepts" : "refuses"} ${fixture.name} (${fixture.rule})`, () => {
        const result = validateResource(fixture.object, fixture.old);
        if (fixture.valid) {
          assert.equal(result.ok, true, JSON.stringify(!result.ok && result.issues));
        } else {
          assert.equal(result.ok, false, "expected a refusal");
          if (!result.ok) {
            assert.ok(
              result.issues.some((issue) => issue.field === fixture.field),
              `expected an issue at ${fixture.field}, got ${JSON.stringify(result.issues)}`,
            );
          }
        }
      });
    }
  });
}

describe("validateResource", () => {
  const base = {
    apiVersion: "azid.dev/v1alpha1",
    kind: "UserAssignedIdentity",
    metadata: { name: "orders-api" },
    spec: {
      subscriptionId: "11111111-1111-1111-1111-111111111111",
      resourceGroup: "app-rg",
      location: "westeurope",
      federatedCredentials: [
        { name: "aks", issuer: "https://oidc.example.com", subject: "system:serviceaccount:a:b" },
      ],
      graphAppRoles: [{ appRole: "User.Read.All" }],
    },
  };

  test("applies the defaults the API server would apply", () => {
    const result = validateResource(base);
    assert.ok(result.ok);
    const spec = result.resource.spec as Record<string, unknown> & typeof base.spec;
    assert.equal(spec.deletionPolicy, "Delete");
    assert.equal(spec.managementPolicy, "Manage");
    assert.deepEqual((spec.federatedCredentials[0] as { audiences?: string[] }).audiences, [
      "api://AzureADTokenExchange",
    ]);
    assert.equal(
      (spec.graphAppRoles[0] as { resourceAppId?: string }).resourceAppId,
      "00000003-0000-0000-c000-000000000000",
    );
  });

  test("does not change its input", () => {
    const input = structuredClone(base);
    validateResource(input);
    assert.deepEqual(input, base);
  });

  test("explains a bad scope with the parser's reason", () => {
    const result = validateResource({
      ...base,
      spec: {
        ...base.spec,
        roleAssignments: [
          { role: "Reader", scope: "/subscriptions/11111111-1111-1111-1111-111111111111/../x" },
        ],
      },
    });
    assert.ok(!result.ok);
    assert.deepEqual(result.issues, [
      { field: "spec.roleAssignments[0].scope", message: 'contains the dot segment ".."' },
    ]);
  });

  test("refuses a role granted twice at one scope, however it is written (beyond what the API server checks)", () => {
    const sub = "/subscriptions/11111111-1111-1111-1111-111111111111";
    const readerGuid = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
    const withGrants = (kind: string, roleAssignments: object[]) =>
      validateResource({
        ...base,
        kind,
        spec:
          kind === "UserAssignedIdentity"
            ? { ...base.spec, roleAssignments }
            : {
                resourceId: `${sub}/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm`,
                roleAssignments,
              },
      });
    const duplicates = [
      [
        { role: "Reader", scope: `${sub}/resourceGroups/g` },
        { role: "reader", scope: `${sub.toUpperCase()}/RESOURCEGROUPS/G` },
      ],
      [
        { role: "Reader", scope: sub },
        { roleDefinitionId: readerGuid, scope: sub, condition: "x", conditionVersion: "2.0" },
      ],
      [
        { roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${readerGuid}`, scope: sub },
        { roleDefinitionId: readerGuid.toUpperCase(), scope: sub },
      ],
      [
        { customRoleRef: { name: "ops" }, scope: sub },
        { customRoleRef: { name: "ops" }, scope: sub },
      ],
    ];
    for (const kind of ["UserAssignedIdentity", "SystemAssignedIdentity"]) {
      for (const grants of duplicates) {
        const result = withGrants(kind, [{ role: "Contributor", scope: sub }, ...grants]);
        assert.ok(!result.ok, `${kind}: ${JSON.stringify(grants)}`);
        assert.deepEqual(
          result.issues.map((issue) => issue.field),
          ["spec.roleAssignments[2]"],
        );
        assert.match(result.issues[0]!.message, /same role at the same scope as spec\.roleAssignments\[1\]/);
      }
    }
    const distinct = [
      { role: "Reader", scope: sub },
      { role: "Reader", scope: `${sub}/resourceGroups/g` },
      { role: "Contributor", scope: sub },
      { customRoleRef: { name: "reader" }, scope: sub },
    ];
    for (const kind of ["UserAssignedIdentity", "SystemAssignedIdentity"]) {
      const result = withGrants(kind, distinct);
      assert.ok(result.ok, JSON.stringify(!result.ok && result.issues));
    }
  });

  test("refuses unknown kinds and versions clearly", () => {
    assert.deepEqual(validateResource({ ...base, kind: "Identity" }), {
      ok: false,
      issues: [{ field: "kind", message: 'unknown kind "Identity"' }],
    });
    assert.equal(validateResource({ ...base, apiVersion: "azid.dev/v1" }).ok, false);
    assert.equal(validateResource("not an object").ok, false);
  });
});
