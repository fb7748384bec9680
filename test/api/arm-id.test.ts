import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ArmIdError,
  armIdKey,
  canonicalScope,
  isValidResourceId,
  isValidScope,
  isWithin,
  listingScopeOf,
  parseResourceId,
  parseScope,
  resourceNameOf,
  resourceTypeOf,
  roleDefinitionGuid,
  roleDefinitionIdFor,
} from "../../src/api/arm-id.js";
import { PATTERNS } from "../../src/api/patterns.js";

const SUB = "11111111-1111-1111-1111-111111111111";
const OTHER = "22222222-2222-2222-2222-222222222222";
const RG = `/subscriptions/${SUB}/resourceGroups/app-rg`;
const VM = `${RG}/providers/Microsoft.Compute/virtualMachines/vm-1`;

describe("parseScope", () => {
  test("reads every kind of scope", () => {
    assert.deepEqual(parseScope(`/subscriptions/${SUB}`), { kind: "subscription", subscriptionId: SUB });
    assert.deepEqual(parseScope(RG), { kind: "resourceGroup", subscriptionId: SUB, resourceGroup: "app-rg" });
    assert.deepEqual(parseScope("/providers/Microsoft.Management/managementGroups/platform"), {
      kind: "managementGroup",
      managementGroup: "platform",
    });
    const vm = parseResourceId(VM);
    assert.equal(resourceTypeOf(vm), "Microsoft.Compute/virtualMachines");
    assert.equal(resourceNameOf(vm), "vm-1");
  });

  test("reads child and extension resources", () => {
    const slot = parseResourceId(`${RG}/providers/Microsoft.Web/sites/web/slots/staging`);
    assert.equal(resourceTypeOf(slot), "Microsoft.Web/sites/slots");
    assert.equal(resourceNameOf(slot), "staging");
    const extension = parseResourceId(`${VM}/providers/Microsoft.Insights/diagnosticSettings/diag`);
    assert.equal(extension.providers.length, 2);
    assert.equal(resourceTypeOf(extension), "Microsoft.Insights/diagnosticSettings");
  });

  test("accepts ARM's lowercase keywords and formats them canonically", () => {
    const lower = `/SUBSCRIPTIONS/${SUB.toUpperCase()}/resourcegroups/app-rg/providers/Microsoft.Compute/virtualMachines/vm-1`;
    assert.equal(canonicalScope(lower), VM);
  });

  const attacks: Array<[string, string]> = [
    ["dot-dot segment", `${RG}/../../${OTHER}`],
    ["dot-dot into another subscription", `/subscriptions/${SUB}/../${OTHER}/resourceGroups/x`],
    ["single dot segment", `${RG}/./providers/Microsoft.Compute/virtualMachines/vm`],
    ["percent-encoded dot-dot", `${RG}/providers/Microsoft.Compute/virtualMachines/%2e%2e`],
    ["percent-encoded slash", `${RG}/providers/Microsoft.Compute/virtualMachines/vm%2F..%2F..`],
    ["query string", `${RG}?api-version=2015-01-01`],
    ["query in a name", `${VM}?x=1`],
    ["fragment", `${VM}#frag`],
    ["backslash", `${RG}\\..\\other`],
    ["space", `${RG} /x`],
    ["tab", `${RG}\t`],
    ["newline", `${RG}\n/subscriptions/${OTHER}`],
    ["NUL", `${RG}\u0000`],
    ["DEL", `${RG}\u007f`],
    ["non-ASCII lookalike slash", `${RG}\u2215..`],
    ["double slash", `/subscriptions/${SUB}//resourceGroups/x`],
    ["trailing slash", `${RG}/`],
    ["relative path", `subscriptions/${SUB}`],
    ["absolute URL", `https://management.azure.com/subscriptions/${SUB}`],
    ["not a GUID", "/subscriptions/not-a-guid"],
    ["name ending with a dot", `${RG}/providers/Microsoft.Compute/virtualMachines/vm.`],
    ["resource group ending with a dot", `/subscriptions/${SUB}/resourceGroups/rg.`],
    ["missing resource name", `${RG}/providers/Microsoft.Compute/virtualMachines`],
    ["provider without a dot", `${RG}/providers/Compute/virtualMachines/vm`],
    ["unknown top segment", `/tenants/${SUB}`],
    ["management group with a tail", "/providers/Microsoft.Management/managementGroups/mg/subscriptions/x"],
    ["empty", ""],
    ["root", "/"],
    ["too long", `${RG}/providers/Microsoft.Compute/virtualMachines/${"a".repeat(1100)}`],
  ];
  for (const [name, input] of attacks) {
    test(`refuses ${name}`, () => {
      assert.throws(() => parseScope(input), ArmIdError);
      assert.equal(isValidScope(input), false);
    });
  }

  test("no accepted scope addresses another subscription or resource group than it names", () => {
    const crafted = [
      `${RG}/providers/Microsoft.Compute/virtualMachines/vm-1/providers/Microsoft.Authorization/x/y`,
      `${RG}/providers/Microsoft.Compute/virtualMachines/vm/subscriptions/${OTHER}`,
      `${RG}/providers/Microsoft.Compute/virtualMachines/subscriptions/resourceGroups/other-rg`,
    ];
    for (const input of crafted) {
      const scope = parseResourceId(input);
      assert.equal(scope.subscriptionId, SUB);
      assert.equal(scope.resourceGroup, "app-rg");
      assert.ok(isWithin(canonicalScope(input), RG));
    }
  });
});

describe("the schema patterns and the parser agree", () => {
  const scopePattern = new RegExp(PATTERNS.scope);
  const resourcePattern = new RegExp(PATTERNS.resourceId);
  const pieces = [
    "/subscriptions",
    `/${SUB}`,
    "/resourceGroups",
    "/resourcegroups",
    "/app-rg",
    "/providers",
    "/Microsoft.Compute",
    "/Microsoft.Management",
    "/managementGroups",
    "/virtualMachines",
    "/vm-1",
    "/..",
    "/.",
    "/a.b",
    "/x.",
    "/%2e",
    "/?",
    "/",
    "/(x)",
  ];
  // A deterministic pseudo-random walk over the pieces: the same corpus on every run.
  let seed = 7;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed;
  };
  const seeds = [
    VM,
    RG,
    `/subscriptions/${SUB}`,
    "/providers/Microsoft.Management/managementGroups/mg",
    `${VM}/providers/Microsoft.Insights/diagnosticSettings/d`,
  ];
  const corpus = [...seeds];
  // Seeds with a few pieces inserted or segments dropped, and free-form strings.
  for (let i = 0; i < 20000; i++) {
    const seed = seeds[next() % seeds.length] as string;
    const segments = seed.split("/").slice(1);
    for (let edits = 1 + (next() % 3); edits > 0; edits--) {
      const at = next() % (segments.length + 1);
      if (next() % 3 === 0) segments.splice(at, 1);
      else segments.splice(at, 0, (pieces[next() % pieces.length] as string).slice(1));
    }
    corpus.push(`/${segments.join("/")}`);
    let text = "";
    for (let j = 1 + (next() % 9); j > 0; j--) text += pieces[next() % pieces.length];
    corpus.push(text);
  }

  test("on scopes", () => {
    const disagreements = corpus.filter((text) => scopePattern.test(text) !== isValidScope(text));
    assert.deepEqual(disagreements.slice(0, 5), []);
    assert.ok(corpus.filter((text) => isValidScope(text)).length > 100, "the corpus holds valid scopes");
  });

  test("on resource ids", () => {
    const disagreements = corpus.filter((text) => resourcePattern.test(text) !== isValidResourceId(text));
    assert.deepEqual(disagreements.slice(0, 5), []);
  });
});

describe("comparison", () => {
  test("ignores case and a trailing slash", () => {
    assert.equal(armIdKey(`${VM.toUpperCase()}/`), VM.toLowerCase());
  });

  test("isWithin respects segment boundaries", () => {
    assert.ok(isWithin(VM, RG));
    assert.ok(isWithin(RG, RG.toUpperCase()));
    assert.ok(!isWithin(`/subscriptions/${SUB}/resourceGroups/app-rg2`, RG));
    assert.ok(!isWithin(RG, VM));
  });
});

describe("role definitions", () => {
  test("a GUID is read from a GUID or a full id", () => {
    const guid = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
    assert.equal(roleDefinitionGuid(guid.toUpperCase()), guid);
    assert.equal(roleDefinitionGuid(`/providers/Microsoft.Authorization/roleDefinitions/${guid}`), guid);
    assert.equal(
      roleDefinitionGuid(`/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${guid}`),
      guid,
    );
    assert.throws(() => roleDefinitionGuid(`/subscriptions/${SUB}/resourceGroups/x`), ArmIdError);
  });

  test("the definition id follows the scope's subscription", () => {
    const guid = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
    assert.equal(
      roleDefinitionIdFor(parseScope(VM), guid),
      `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${guid}`,
    );
    assert.equal(
      roleDefinitionIdFor(parseScope("/providers/Microsoft.Management/managementGroups/mg"), guid),
      `/providers/Microsoft.Authorization/roleDefinitions/${guid}`,
    );
  });

  test("role assignments are listed per subscription or management group", () => {
    assert.equal(listingScopeOf(parseScope(VM)), `/subscriptions/${SUB}`);
    assert.equal(
      listingScopeOf(parseScope("/providers/Microsoft.Management/managementGroups/mg")),
      "/providers/Microsoft.Management/managementGroups/mg",
    );
  });
});
