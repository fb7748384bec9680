// azid's CustomResourceDefinitions, applied to a Kubernetes API as `kubectl apply -f crds/` (or
// the chart) would: the sandbox and the demo install them so the controller's caches can sync.

import { setTimeout as sleep } from "node:timers/promises";
import { customResourceDefinition } from "../../api/crd.js";
import { KINDS } from "../../api/kinds.js";
import type { Condition } from "../../api/schemas/common.js";
import { CliError } from "../exit-codes.js";
import type { KubeApi, KubeObject } from "./kube-api.js";

/** Applies every azid CRD and resolves once each is Established; rejects after `timeoutMs`. */
export async function installCrds(kube: KubeApi, timeoutMs = 60_000): Promise<string[]> {
  const crds = KINDS.map((kind) => customResourceDefinition(kind) as unknown as KubeObject);
  for (const crd of crds) await kube.apply(crd);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const waiting: string[] = [];
    for (const crd of crds) {
      const found = await kube.get<{ status?: { conditions?: Condition[] } }>(
        "CustomResourceDefinition",
        crd.metadata.name,
      );
      if (!found?.status?.conditions?.some((c) => c.type === "Established" && c.status === "True"))
        waiting.push(crd.metadata.name);
    }
    if (waiting.length === 0) return crds.map((crd) => crd.metadata.name);
    if (Date.now() > deadline)
      throw new CliError(`the CRDs ${waiting.join(", ")} were not established within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}
