// The progress reporter: a redrawn bar on a terminal, JSON lines otherwise.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Progress } from "../../src/cli/progress.js";
import type { ResourceOutcome } from "../../src/cli/reconcile.js";
import * as build from "../../src/plan/build.js";

const owner = { kind: "UserAssignedIdentity" as const, namespace: "team-a", name: "orders" };
const ID =
  "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/orders";

function stream(isTTY: boolean) {
  const chunks: string[] = [];
  return {
    chunks,
    stream: { isTTY, write: (text: string) => chunks.push(text) > 0 } as unknown as NodeJS.WriteStream,
  };
}

const outcome = {
  key: "UserAssignedIdentity/team-a/orders",
  state: "ready",
  writes: [],
} as unknown as ResourceOutcome;

describe("Progress", () => {
  test("without a terminal: one JSON line per write and per resource, reads left out", () => {
    const out = stream(false);
    const progress = new Progress({ stream: out.stream, unit: "writes", total: 3, throttled: () => 0 });
    progress.onAction(build.readIdentity(owner, ID), { result: {} });
    progress.onAction(build.createIdentity(owner, ID, "westeurope", {}), { result: {} });
    progress.onResource(outcome);
    progress.finish();
    const lines = out.chunks
      .join("")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    assert.deepEqual(
      lines.map((l) => [l.event, l.kind ?? l.state, l.done]),
      [
        ["write", "CreateIdentity", 1],
        ["resource", "ready", 1],
      ],
    );
    assert.equal(lines[0].total, 3);
  });

  test("on a terminal: the bar is redrawn in place and ends with a newline", () => {
    const out = stream(true);
    const progress = new Progress({ stream: out.stream, unit: "resources", total: 2, throttled: () => 4 });
    progress.onResource(outcome);
    progress.finish();
    const text = out.chunks.join("");
    // Carriage return and "erase line" before each redraw.
    assert.ok(text.startsWith("\r\u001b[2K"));
    assert.match(text, /\[█{14}░{14}\] 1\/2 resources/);
    assert.match(text, /429s 4/);
    assert.ok(text.endsWith("\n"));
  });

  test("disabled: nothing is written", () => {
    const out = stream(false);
    const progress = new Progress({
      stream: out.stream,
      unit: "writes",
      total: 1,
      throttled: () => 0,
      enabled: false,
    });
    progress.onAction(build.createIdentity(owner, ID, "westeurope", {}), { result: {} });
    progress.finish();
    assert.deepEqual(out.chunks, []);
  });
});
