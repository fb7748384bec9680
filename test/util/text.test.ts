import assert from "node:assert/strict";
import { test } from "node:test";
import { formatDuration, plural } from "../../src/util/text.js";

test("plural puts the noun in the count's number", () => {
  assert.equal(plural(1, "call"), "1 call");
  assert.equal(plural(0, "call"), "0 calls");
  assert.equal(plural(2, "identity", "identities"), "2 identities");
});

test("formatDuration never prints a zero for a duration above zero", () => {
  const cases: Array<[number, string]> = [
    [0, "0 s"],
    [0.0004, "1 ms"],
    [0.042, "42 ms"],
    [0.2, "200 ms"],
    [2.14, "2.1 s"],
    [9.96, "10 s"],
    [42.4, "42 s"],
    [60, "1 min"],
    [200.4, "3 min 20 s"],
  ];
  for (const [seconds, expected] of cases) assert.equal(formatDuration(seconds), expected, String(seconds));
});
