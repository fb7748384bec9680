// ARM emulator throughput at azid's scale: 10,000 identities and 4,000 role assignments, and how a
// read's cost grows with the store (the ratios should stay near 1: lookups go through indexes).
// Run: npx tsc -p tsconfig.json && node dist/bench/arm.bench.js
import { Agent, request } from "node:https";
import { type ArmEmulator, startArmEmulator } from "@azid/arm-emulator";

const IDENTITIES = Number(process.env.ARM_BENCH_IDENTITIES ?? 10_000);
const ASSIGNMENTS = 4_000;
const CONCURRENCY = 16;
const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

function client(arm: ArmEmulator) {
  const agent = new Agent({ ca: arm.caPem, keepAlive: true, maxSockets: CONCURRENCY });
  const call = (method: string, path: string, body?: unknown) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        new URL(path, arm.url),
        { method, agent, headers: { authorization: "Bearer bench", "content-type": "application/json" } },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  return { call, close: () => agent.destroy() };
}

/** Runs `count` calls, `CONCURRENCY` at a time; answers calls per second. */
async function rate(count: number, one: (i: number) => Promise<number>, expected: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const status = await one(i);
      if (status !== expected) throw new Error(`call ${i} answered ${status}, not ${expected}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return count / ((performance.now() - started) / 1000);
}

const print = (name: string, value: number) => console.log(`${name}: ${value.toFixed(2)}`);

async function main(): Promise<void> {
  const arm = await startArmEmulator({ settings: { throttling: false, replicationDelaySeconds: 0 } });
  const { call, close } = client(arm);
  try {
    const sub = arm.subscriptionId;
    const rg = `/subscriptions/${sub}/resourceGroups/bench`;
    const identity = (i: number) =>
      `${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-${i}?api-version=2024-11-30`;
    await call("PUT", `${rg}?api-version=2025-04-01`, { location: "eastus" });

    // Reads against a small store first, the baseline of the ratios below.
    await rate(100, (i) => call("PUT", identity(i), { location: "eastus" }), 201);
    const readSmall = await rate(2000, (i) => call("GET", identity(i % 100)), 200);

    const creates = await rate(
      IDENTITIES - 100,
      (i) => call("PUT", identity(i + 100), { location: "eastus" }),
      201,
    );
    print("arm_identity_creates_per_s", creates);
    const readLarge = await rate(2000, (i) => call("GET", identity((i * 7919) % IDENTITIES)), 200);
    print("arm_identity_reads_per_s", readLarge);
    print("arm_identity_read_time_ratio_10000_to_100_identities", readSmall / readLarge);

    const principals: string[] = [];
    for (let i = 0; i < 200; i++) {
      const oid = `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
      arm.addPrincipal(arm.tenantId, oid, {});
      principals.push(oid);
    }
    const assignment = (i: number) => ({
      properties: {
        roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${READER}`,
        principalId: principals[i % principals.length],
        principalType: "ServicePrincipal",
      },
    });
    const scopeOf = (i: number) => identity(i).split("?")[0];
    const name = (i: number) => `11111111-0000-4000-8000-${String(i).padStart(12, "0")}`;
    const filtered = (p: string) =>
      `/subscriptions/${sub}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=${encodeURIComponent(`principalId eq '${p}'`)}`;

    await rate(
      100,
      (i) =>
        call(
          "PUT",
          `${scopeOf(i)}/providers/Microsoft.Authorization/roleAssignments/${name(i)}?api-version=2022-04-01`,
          assignment(i),
        ),
      201,
    );
    const listSmall = await rate(500, (i) => call("GET", filtered(principals[i % 100]!)), 200);
    const grants = await rate(
      ASSIGNMENTS - 100,
      (i) =>
        call(
          "PUT",
          `${scopeOf(i + 100)}/providers/Microsoft.Authorization/roleAssignments/${name(i + 100)}?api-version=2022-04-01`,
          assignment(i + 100),
        ),
      201,
    );
    print("arm_role_assignment_creates_per_s", grants);
    const listLarge = await rate(500, (i) => call("GET", filtered(principals[i % 100]!)), 200);
    print("arm_role_assignment_principal_lists_per_s", listLarge);
    // Each answer holds 20 assignments instead of 1: the time ratio stays far below 20 thanks to the index.
    print("arm_principal_list_time_ratio_4000_to_100_assignments", listSmall / listLarge);
    const over = await call(
      "PUT",
      `${scopeOf(0)}/providers/Microsoft.Authorization/roleAssignments/22222222-0000-4000-8000-000000000000?api-version=2022-04-01`,
      {
        properties: {
          ...assignment(0).properties,
          roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c`,
        },
      },
    );
    console.log(`arm_role_assignment_over_limit_status: ${over}`);
  } finally {
    close();
    await arm.close();
  }
}

await main();
