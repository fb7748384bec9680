// The controller's pod as `helm template` renders it, turned into `podman run` arguments: the
// same image, command and args, env, user, read-only root filesystem, privilege escalation,
// capabilities, tmpfs, mounted files and memory limit. Whatever the translation does not know
// throws, so that a chart change the image run cannot honour fails the image test instead of
// being skipped.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are read field by field
type Json = any;

export interface PodRun {
  /** Arguments for `podman run` after the options: the image, then the container's args. */
  image: string;
  command: string[] | undefined;
  args: string[];
  /** `podman run` options (everything before the image). */
  options: string[];
  /** Where the readiness probe asks, on the host's network. */
  readiness: { path: string; port: number };
  /** Seconds podman waits after SIGTERM (the pod's terminationGracePeriodSeconds). */
  stopTimeoutSeconds: number;
}

/**
 * `deployment`'s only container as podman runs it on the host's network. ConfigMap volumes are
 * written under `filesDir` from the rendered ConfigMaps in `objects`; hostPath volumes are bound.
 */
export function podRunOf(objects: Json[], deploymentName: string, filesDir: string): PodRun {
  const deployment = objects.find((o) => o.kind === "Deployment" && o.metadata.name === deploymentName);
  if (!deployment) throw new Error(`no Deployment ${deploymentName} in the rendered chart`);
  const pod = deployment.spec.template.spec;
  known(pod, "pod spec", [
    "serviceAccountName",
    "automountServiceAccountToken",
    "enableServiceLinks",
    "terminationGracePeriodSeconds",
    "securityContext",
    "containers",
    "volumes",
    "nodeSelector",
    "affinity",
    "topologySpreadConstraints",
    "tolerations",
    "priorityClassName",
    "imagePullSecrets",
  ]);
  if (pod.containers.length !== 1)
    throw new Error(`expected one container, rendered ${pod.containers.length}`);
  const container = pod.containers[0];
  known(container, "container", [
    "name",
    "image",
    "imagePullPolicy",
    "command",
    "args",
    "env",
    "ports",
    "startupProbe",
    "livenessProbe",
    "readinessProbe",
    "resources",
    "securityContext",
    "volumeMounts",
  ]);
  const options: string[] = ["--network", "host"];

  const podSecurity = pod.securityContext ?? {};
  const security = { ...podSecurity, ...(container.securityContext ?? {}) };
  known(podSecurity, "pod securityContext", [
    "runAsNonRoot",
    "runAsUser",
    "runAsGroup",
    "fsGroup",
    "seccompProfile",
  ]);
  known(container.securityContext ?? {}, "container securityContext", [
    "runAsNonRoot",
    "runAsUser",
    "runAsGroup",
    "allowPrivilegeEscalation",
    "readOnlyRootFilesystem",
    "privileged",
    "capabilities",
    "seccompProfile",
  ]);
  if (security.runAsUser !== undefined) {
    if (security.runAsNonRoot && security.runAsUser === 0) throw new Error("runAsNonRoot with runAsUser 0");
    options.push(
      "--user",
      `${security.runAsUser}${security.runAsGroup !== undefined ? `:${security.runAsGroup}` : ""}`,
    );
  } else if (security.runAsNonRoot) {
    throw new Error("runAsNonRoot without runAsUser: the image's user would have to be checked");
  }
  if (podSecurity.fsGroup !== undefined) options.push("--group-add", String(podSecurity.fsGroup));
  if (security.privileged) throw new Error("a privileged container");
  if (security.allowPrivilegeEscalation === false) options.push("--security-opt", "no-new-privileges");
  // podman's --read-only adds tmpfs of its own on /tmp, /run, /var/tmp; a pod has only its volumes.
  if (security.readOnlyRootFilesystem) options.push("--read-only", "--read-only-tmpfs=false");
  for (const cap of security.capabilities?.drop ?? []) options.push("--cap-drop", cap);
  for (const cap of security.capabilities?.add ?? []) options.push("--cap-add", cap);
  const seccomp = security.seccompProfile?.type;
  if (seccomp !== undefined && seccomp !== "RuntimeDefault") throw new Error(`seccompProfile ${seccomp}`);

  for (const variable of container.env ?? []) {
    if (variable.valueFrom !== undefined)
      throw new Error(`env ${variable.name} comes from a ${Object.keys(variable.valueFrom)}`);
    options.push("--env", `${variable.name}=${variable.value}`);
  }

  const volumes = new Map<string, Json>((pod.volumes ?? []).map((v: Json) => [v.name, v]));
  for (const mount of container.volumeMounts ?? []) {
    known(mount, `volumeMount ${mount.name}`, ["name", "mountPath", "readOnly"]);
    const volume = volumes.get(mount.name);
    if (!volume) throw new Error(`volumeMount ${mount.name} has no volume`);
    const ro = mount.readOnly ? ":ro" : "";
    if (volume.emptyDir) {
      if (volume.emptyDir.medium && volume.emptyDir.medium !== "Memory")
        throw new Error(`emptyDir medium ${volume.emptyDir.medium}`);
      const size = volume.emptyDir.sizeLimit ? `,size=${bytes(volume.emptyDir.sizeLimit)}` : "";
      options.push("--tmpfs", `${mount.mountPath}:rw,mode=1777${size}`);
    } else if (volume.configMap) {
      const map = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === volume.configMap.name);
      if (!map) throw new Error(`volume ${mount.name}: ConfigMap ${volume.configMap.name} is not rendered`);
      const dir = join(filesDir, mount.name);
      mkdirSync(dir, { recursive: true });
      const items: Json[] =
        volume.configMap.items ?? Object.keys(map.data ?? {}).map((key) => ({ key, path: key }));
      for (const item of items) writeFileSync(join(dir, item.path), map.data[item.key]);
      options.push("--volume", `${dir}:${mount.mountPath}${ro || ":ro"}`);
    } else if (volume.hostPath) {
      options.push("--volume", `${volume.hostPath.path}:${mount.mountPath}${ro}`);
    } else {
      throw new Error(
        `volume ${mount.name}: ${Object.keys(volume).filter((k) => k !== "name")} is not run by the image test`,
      );
    }
  }

  const memory = container.resources?.limits?.memory;
  if (memory) options.push("--memory", String(bytes(memory)));

  const probe = container.readinessProbe?.httpGet;
  if (!probe) throw new Error("the container has no HTTP readiness probe");
  const port =
    typeof probe.port === "number"
      ? probe.port
      : container.ports?.find((p: Json) => p.name === probe.port)?.containerPort;
  if (typeof port !== "number") throw new Error(`readiness probe port ${probe.port} is not a container port`);

  return {
    image: container.image,
    command: container.command,
    args: container.args ?? [],
    options,
    readiness: { path: probe.path, port },
    stopTimeoutSeconds: pod.terminationGracePeriodSeconds ?? 30,
  };
}

/** Fails on a field the translation does not handle. */
function known(object: Json, what: string, fields: string[]): void {
  const unknown = Object.keys(object).filter((key) => !fields.includes(key));
  if (unknown.length > 0)
    throw new Error(`${what}: ${unknown.join(", ")} not handled by the image test's pod run`);
}

/** A Kubernetes quantity of bytes (64Mi, 512M, 1Gi, 1000). */
export function bytes(quantity: string | number): number {
  const match = /^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(quantity));
  if (!match) throw new Error(`quantity ${quantity}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[
    match[2] ?? ""
  ];
  return Number(match[1]) * (unit ?? 1);
}
