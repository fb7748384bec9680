// The one set of condition helpers: reading, and setting with Kubernetes' transition rule
// (lastTransitionTime moves only when the status does).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type ConditionUpdate,
  getCondition,
  isConditionTrue,
  kubeTime,
  replaceConditions,
  setCondition,
  transition,
} from "../../src/api/conditions.js";
import type { Condition } from "../../src/api/schemas/common.js";

const T0 = "2030-01-01T00:00:00Z";
const T1 = "2030-01-01T00:05:00Z";
const ready = (status: Condition["status"], message = ""): ConditionUpdate => ({
  type: "Ready",
  status,
  reason: status === "True" ? "Reconciled" : "Progressing",
  message,
});
const stamped = (update: ConditionUpdate, at: string): Condition => ({ ...update, lastTransitionTime: at });

describe("condition helpers", () => {
  const transitions: Array<[string, Condition | undefined, ConditionUpdate, string]> = [
    ["a new condition is stamped now", undefined, ready("False"), T1],
    [
      "the same status keeps its time, whatever the message",
      stamped(ready("False", "a"), T0),
      ready("False", "b"),
      T0,
    ],
    ["a changed status is stamped now", stamped(ready("False"), T0), ready("True"), T1],
    [
      "a condition without a time (written by hand) gets one",
      { ...ready("False"), lastTransitionTime: "" },
      ready("False"),
      T1,
    ],
  ];
  for (const [name, before, update, at] of transitions) {
    test(`transition: ${name}`, () => {
      assert.equal(transition(before, update, { now: T1 }).lastTransitionTime, at);
    });
  }

  test("transition takes a Date as metav1.Time (whole seconds) and records the generation", () => {
    const next = transition(undefined, ready("True"), {
      now: new Date("2030-01-01T00:05:00.750Z"),
      generation: 3,
    });
    assert.deepEqual(next, { ...ready("True"), lastTransitionTime: T1, observedGeneration: 3 });
    assert.equal(kubeTime(new Date("2030-01-01T00:05:00.750Z")), T1);
  });

  test("setCondition replaces in place and appends, keeping the others", () => {
    const roles = stamped({ type: "RolesGranted", status: "True", reason: "Reconciled", message: "" }, T0);
    let list = setCondition([stamped(ready("False"), T0), roles], ready("True"), { now: T1 });
    assert.deepEqual(
      list.map((c) => [c.type, c.status, c.lastTransitionTime]),
      [
        ["Ready", "True", T1],
        ["RolesGranted", "True", T0],
      ],
    );
    list = setCondition(
      list,
      { type: "Attached", status: "False", reason: "Progressing", message: "" },
      { now: T1 },
    );
    assert.deepEqual(
      list.map((c) => c.type),
      ["Ready", "RolesGranted", "Attached"],
    );
  });

  test("replaceConditions keeps the order decided and drops what is not decided any more", () => {
    const previous = [
      stamped(ready("False"), T0),
      stamped({ type: "Old", status: "True", reason: "Reconciled", message: "" }, T0),
    ];
    const next = replaceConditions(
      previous,
      [{ type: "New", status: "True", reason: "Reconciled", message: "" }, ready("False", "still")],
      { now: T1, generation: 2 },
    );
    assert.deepEqual(
      next.map((c) => [c.type, c.lastTransitionTime, c.observedGeneration]),
      [
        ["New", T1, 2],
        ["Ready", T0, 2],
      ],
    );
  });

  test("getCondition and isConditionTrue read by type", () => {
    const list = [stamped(ready("True"), T0), stamped({ ...ready("False"), type: "Attached" }, T0)];
    assert.equal(getCondition(list, "Attached")?.status, "False");
    assert.equal(getCondition(list, "Missing"), undefined);
    assert.equal(isConditionTrue(list, "Ready"), true);
    assert.equal(isConditionTrue(list, "Attached"), false);
    assert.equal(isConditionTrue(undefined, "Ready"), false);
  });
});
