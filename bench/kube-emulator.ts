// Benchmark of the Kubernetes API emulator at azid's scale: 10,000 custom resources listed,
// watched by several watchers, updated concurrently, then updated again under a
// ValidatingAdmissionPolicy. The emulator runs on the main thread,
// the clients in a worker thread, so that they do not share an event loop. Prints
// `name: value` lines; ratios compare figures measured in the same run.
// Run: npx tsc -p tsconfig.json && node dist/bench/kube-emulator.js
import { request } from "node:http";
import { performance } from "node:perf_hooks";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { startKubeEmulator } from "@azid/kube-emulator";

const OBJECTS = 10_000;
const SMALL = 100;
const WATCHERS = 5;
const UPDATES = 5_000;
const CONCURRENCY = 32;
const WIDGETS = "/apis/example.com/v1/namespaces/default/widgets";
const POLICY_UPDATES = 2_000;
const ADMISSION = "/apis/admissionregistration.k8s.io/v1";

/** A policy shaped like the chart's: a match condition, variables, validations with messages. */
const policy = {
  apiVersion: "admissionregistration.k8s.io/v1",
  kind: "ValidatingAdmissionPolicy",
  metadata: { name: "widget-guardrails" },
  spec: {
    matchConstraints: {
      resourceRules: [
        {
          apiGroups: ["example.com"],
          apiVersions: ["*"],
          operations: ["CREATE", "UPDATE"],
          resources: ["widgets"],
        },
      ],
    },
    matchConditions: [
      { name: "not-the-controller", expression: "request.userInfo.username != 'system:serviceaccount:x:y'" },
    ],
    variables: [
      { name: "optedIn", expression: "namespaceObject != null && has(namespaceObject.metadata.labels)" },
      { name: "owners", expression: "has(object.spec.owner) ? [object.spec.owner] : []" },
    ],
    validations: [
      {
        expression: "variables.optedIn || object.spec.size >= 0 || size(variables.owners) < 2",
        message: "refused",
      },
      {
        expression:
          "request.operation != 'UPDATE' || object.spec.?owner.orValue('') == oldObject.spec.?owner.orValue('')",
        messageExpression: "'owner cannot change: ' + string(object.spec.?owner.orValue(''))",
      },
    ],
  },
};
const binding = {
  apiVersion: "admissionregistration.k8s.io/v1",
  kind: "ValidatingAdmissionPolicyBinding",
  metadata: { name: "widget-guardrails" },
  spec: { policyName: "widget-guardrails", validationActions: ["Deny"] },
};

const crd = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.example.com" },
  spec: {
    group: "example.com",
    scope: "Namespaced",
    names: { plural: "widgets", kind: "Widget" },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: { type: "object", properties: { size: { type: "integer" }, owner: { type: "string" } } },
              status: { type: "object", properties: { phase: { type: "string" } } },
            },
          },
        },
      },
    ],
  },
};

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  contentType = "application/json",
) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { "Content-Type": contentType },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 200)}`);
  return text;
}

async function inParallel(count: number, work: (index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function timeMs(runs: number, work: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await work();
    samples.push(performance.now() - started);
  }
  return samples;
}

/** A raw watcher counting the events it receives. */
function watcher(base: string, path: string): Promise<{ count: () => number; close: () => void }> {
  return new Promise((resolve, reject) => {
    let events = 0;
    let buffer = "";
    const req = request(`${base}${path}`, (res) => {
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        let at = buffer.indexOf("\n");
        while (at >= 0) {
          events++;
          buffer = buffer.slice(at + 1);
          at = buffer.indexOf("\n");
        }
      });
      res.on("error", () => {});
      resolve({ count: () => events, close: () => req.destroy() });
    });
    req.on("error", reject);
    req.end();
  });
}

const fmt = (n: number): string => n.toFixed(2);

async function clients(base: string): Promise<[string, string][]> {
  {
    await call(base, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
    while ((await fetch(`${base}${WIDGETS}`)).status !== 200) await new Promise((r) => setTimeout(r, 10));

    await inParallel(SMALL, (i) =>
      call(base, "POST", WIDGETS, {
        apiVersion: "example.com/v1",
        kind: "Widget",
        metadata: { name: `w-${i}` },
        spec: { size: i },
      }),
    );
    const getSmall = await timeMs(200, () => call(base, "GET", `${WIDGETS}/w-${SMALL - 1}`));
    const listSmall = await timeMs(20, () => call(base, "GET", WIDGETS));

    const createStarted = performance.now();
    await inParallel(OBJECTS - SMALL, (i) =>
      call(base, "POST", WIDGETS, {
        apiVersion: "example.com/v1",
        kind: "Widget",
        metadata: { name: `w-${SMALL + i}`, labels: { shard: String(i % 10) } },
        spec: { size: i, owner: "bench" },
      }),
    );
    const createSeconds = (performance.now() - createStarted) / 1000;

    const getLarge = await timeMs(200, () => call(base, "GET", `${WIDGETS}/w-${OBJECTS - 1}`));
    const listLarge = await timeMs(20, () => call(base, "GET", WIDGETS));
    const listSelected = await timeMs(20, () => call(base, "GET", `${WIDGETS}?labelSelector=shard%3D3`));
    const listTable = await timeMs(10, () =>
      fetch(`${base}${WIDGETS}`, {
        headers: { Accept: "application/json;as=Table;v=v1;g=meta.k8s.io" },
      }).then((r) => r.text()),
    );
    const paged = await timeMs(5, async () => {
      let token = "";
      do {
        const page = JSON.parse(
          await call(base, "GET", `${WIDGETS}?limit=500${token ? `&continue=${token}` : ""}`),
        );
        token = page.metadata.continue ? encodeURIComponent(page.metadata.continue) : "";
      } while (token);
    });

    const rv = JSON.parse(await call(base, "GET", `${WIDGETS}?limit=1`)).metadata.resourceVersion;
    const watchers = await Promise.all(
      Array.from({ length: WATCHERS }, () => watcher(base, `${WIDGETS}?watch=true&resourceVersion=${rv}`)),
    );
    const updateStarted = performance.now();
    await inParallel(UPDATES, (i) =>
      call(
        base,
        "PATCH",
        `${WIDGETS}/w-${i % OBJECTS}`,
        { spec: { size: -i - 1 } },
        "application/merge-patch+json",
      ),
    );
    const updateSeconds = (performance.now() - updateStarted) / 1000;
    const deadline = Date.now() + 120_000;
    while (watchers.some((w) => w.count() < UPDATES)) {
      if (Date.now() > deadline)
        throw new Error(`watchers saw ${watchers.map((w) => w.count()).join(",")} of ${UPDATES} events`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const fanoutSeconds = (performance.now() - updateStarted) / 1000;
    for (const w of watchers) w.close();

    // The same updates without and then with a ValidatingAdmissionPolicy bound to them.
    const patchAll = async (offset: number) => {
      const started = performance.now();
      await inParallel(POLICY_UPDATES, (i) =>
        call(
          base,
          "PATCH",
          `${WIDGETS}/w-${i % OBJECTS}`,
          { spec: { size: offset + i } },
          "application/merge-patch+json",
        ),
      );
      return (performance.now() - started) / 1000;
    };
    const unpoliced = await patchAll(1);
    await call(base, "POST", `${ADMISSION}/validatingadmissionpolicies`, policy);
    await call(base, "POST", `${ADMISSION}/validatingadmissionpolicybindings`, binding);
    const policed = await patchAll(POLICY_UPDATES + 1);

    const lines: [string, string][] = [
      ["kube_objects", String(OBJECTS)],
      ["kube_create_per_s", fmt((OBJECTS - SMALL) / createSeconds)],
      [`kube_get_p50_ms_at_${SMALL}`, fmt(percentile(getSmall, 50))],
      [`kube_get_p50_ms_at_${OBJECTS}`, fmt(percentile(getLarge, 50))],
      ["kube_get_ratio_10k_to_100", fmt(percentile(getLarge, 50) / percentile(getSmall, 50))],
      [`kube_list_p50_ms_at_${SMALL}`, fmt(percentile(listSmall, 50))],
      [`kube_list_p50_ms_at_${OBJECTS}`, fmt(percentile(listLarge, 50))],
      [`kube_list_p95_ms_at_${OBJECTS}`, fmt(percentile(listLarge, 95))],
      [`kube_list_ms_per_1000_objects`, fmt(percentile(listLarge, 50) / (OBJECTS / 1000))],
      [`kube_list_label_selected_p50_ms_at_${OBJECTS}`, fmt(percentile(listSelected, 50))],
      [`kube_list_table_p50_ms_at_${OBJECTS}`, fmt(percentile(listTable, 50))],
      [`kube_list_paged_500_total_p50_ms_at_${OBJECTS}`, fmt(percentile(paged, 50))],
      ["kube_update_per_s_with_watchers", fmt(UPDATES / updateSeconds)],
      ["kube_watchers", String(WATCHERS)],
      ["kube_watch_fanout_events_per_s", fmt((UPDATES * WATCHERS) / fanoutSeconds)],
      ["kube_watch_fanout_to_update_ratio", fmt(fanoutSeconds / updateSeconds)],
      ["kube_update_per_s_without_policy", fmt(POLICY_UPDATES / unpoliced)],
      ["kube_update_per_s_with_policy", fmt(POLICY_UPDATES / policed)],
      ["kube_policy_update_time_ratio", fmt(policed / unpoliced)],
    ];
    return lines;
  }
}

if (isMainThread) {
  const kube = await startKubeEmulator();
  try {
    const worker = new Worker(new URL(import.meta.url), { workerData: { url: kube.url } });
    const lines = await new Promise<[string, string][]>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    for (const [name, value] of lines) console.log(`${name}: ${value}`);
  } finally {
    await kube.close();
  }
} else {
  parentPort!.postMessage(await clients((workerData as { url: string }).url));
}
