// Time from `kubectl apply` to Ready for one UserAssignedIdentity, with the sandbox at time scale
// 1 (ARM's own pace) and no throttling, through the real `azid controller` process: the latency
// a user sees. Identities are applied one at a time; prints each figure and the median.
//   npx tsc -p tsconfig.json && node dist/bench/identity-ready.js
import { createResourceGroup, createVm, NS, rg, teamNamespace, uai, vm } from "../test/e2e/fixtures.js";
import { Stack } from "../test/e2e/stack.js";

const RUNS = 7;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

async function main() {
  const stack = await Stack.start({ timeScale: 1, throttling: false });
  try {
    await createResourceGroup(stack);
    await stack.apply(...teamNamespace(stack));
    await stack.startController({ resyncPeriod: "10m" });

    const shapes = {
      bare: () => ({}),
      full: (i: number) => ({
        roleAssignments: [
          { role: "Reader", scope: rg(stack) },
          { role: "Storage Blob Data Reader", scope: rg(stack) },
          { role: "Reader", scope: vm(stack, `vm-${i}`) },
        ],
        federatedCredentials: [
          {
            name: "aks",
            issuer: "https://oidc.example.com/issuer",
            subject: `system:serviceaccount:${NS}:a${i}`,
          },
        ],
        attachTo: [vm(stack, `vm-${i}`)],
      }),
    };
    let index = 0;
    for (const [shape, spec] of Object.entries(shapes)) {
      const seconds: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        const i = index++;
        await createVm(stack, `vm-${i}`);
        const started = performance.now();
        await stack.apply(uai(stack, `id-${i}`, spec(i)));
        await stack.waitReady("uai", NS, "60s", `id-${i}`);
        seconds.push((performance.now() - started) / 1000);
      }
      console.log(
        `apply to Ready, ${shape} identity, runs (s): ${seconds.map((s) => s.toFixed(2)).join(" ")}`,
      );
      console.log(`apply to Ready, ${shape} identity, median (s): ${median(seconds).toFixed(2)}`);
    }
  } finally {
    await stack.close();
  }
}

await main();
