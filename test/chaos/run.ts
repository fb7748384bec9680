// `npm run chaos`: the reliability suite. Runs each scenario on a stack of its own (ARM and
// Kubernetes emulators, a real redis-server, real `azid controller` processes), prints one line
// per scenario, `<scenario>: runs=N converged=N duplicates=N lost=N`, with its sizes and faults
// underneath, and exits non-zero when any scenario did not end exactly as declared.
// runs: the resources a scenario drove through its faults (for bad input, the hostile resources);
// converged: those that ended Ready with Azure exactly as declared (for bad input, refused at
// apply or given a terminal condition); duplicates: objects in Azure twice or not declared at all
// (orphans), and identities deleted more often than the repair needs; lost: declared objects
// missing from Azure. Sizes are scaled to run on a 2-core machine in about 10 minutes.
// `npm run chaos -- crash redis` runs only the scenarios named; CHAOS_SEED replays crash's kill points.
import { armFaults } from "./arm-faults.js";
import { badInput } from "./bad-input.js";
import { crash } from "./crash.js";
import { kubeFaults } from "./kube-faults.js";
import { redis } from "./redis.js";
import { redisCluster, redisSentinel } from "./redis-ha.js";
import { passed, summaryLine, type Verdict } from "./verdict.js";

const SCENARIOS: Record<string, () => Promise<Verdict>> = {
  crash,
  redis,
  "redis-sentinel": redisSentinel,
  "redis-cluster": redisCluster,
  "arm-faults": armFaults,
  "kube-faults": kubeFaults,
  "bad-input": badInput,
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in SCENARIOS));
if (unknown.length > 0) {
  console.error(`unknown scenario ${unknown.join(", ")}; known: ${Object.keys(SCENARIOS).join(", ")}`);
  process.exit(2);
}

let failed = 0;
const suiteStarted = Date.now();
for (const [name, scenario] of Object.entries(SCENARIOS)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  const started = Date.now();
  let verdict: Verdict;
  try {
    verdict = await scenario();
  } catch (error) {
    verdict = {
      scenario: name,
      runs: 0,
      converged: 0,
      duplicates: 0,
      lost: 0,
      mismatches: [],
      notes: [],
      seconds: Math.round((Date.now() - started) / 1000),
      error: (error as Error).stack ?? String(error),
    };
  }
  const ok = passed(verdict);
  if (!ok) failed++;
  console.log(summaryLine(verdict));
  for (const note of verdict.notes) console.log(`  ${note}`);
  for (const line of verdict.mismatches) console.log(`  mismatch: ${line}`);
  if (verdict.error) console.log(`  error: ${verdict.error}`);
  console.log(`  ${ok ? "passed" : "FAILED"} in ${verdict.seconds} s`);
}
console.log(
  `chaos: ${failed === 0 ? "all passed" : `${failed} failed`} in ${Math.round((Date.now() - suiteStarted) / 1000)} s`,
);
process.exit(failed === 0 ? 0 : 1);
