// Label and field selector grammar (k8s.io/apimachinery labels and fields).
import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError } from "@azid/kube-emulator/internal/errors.js";
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from "@azid/kube-emulator/internal/selectors.js";

const labels = { app: "web", tier: "gold", version: "3" };

test("label selectors: equality, sets, existence and numeric comparisons", () => {
  const cases: [string, boolean][] = [
    ["", true],
    ["app=web", true],
    ["app==web", true],
    ["app!=web", false],
    ["missing!=x", true],
    ["tier in (gold, silver)", true],
    ["tier notin (gold)", false],
    ["app,tier", true],
    ["!missing", true],
    ["!app", false],
    ["version>2", true],
    ["version<3", false],
    ["app=web,tier=silver", false],
    ["example.com/owner", false],
    ["app=", false],
  ];
  for (const [selector, expected] of cases) {
    assert.equal(matchesLabels(parseLabelSelector(selector), labels), expected, selector);
  }
});

test("malformed label selectors are 400 BadRequest", () => {
  for (const selector of ["tier in gold", "a b", "=x", "tier in (gold", "app=bad value!"]) {
    assert.throws(
      () => parseLabelSelector(selector),
      (error: unknown) => error instanceof ApiError && error.code === 400,
      selector,
    );
  }
});

test("field selectors: =, ==, != and escaped values", () => {
  const fields = { "metadata.name": "a,b", "metadata.namespace": "default" };
  assert.equal(matchesFields(parseFieldSelector("metadata.name=a\\,b"), fields), true);
  assert.equal(
    matchesFields(parseFieldSelector("metadata.namespace==default,metadata.name!=x"), fields),
    true,
  );
  assert.equal(matchesFields(parseFieldSelector("metadata.namespace!=default"), fields), false);
  assert.throws(
    () => parseFieldSelector("metadata.name"),
    (error: unknown) => error instanceof ApiError && error.code === 400,
  );
});
