// The restricted Pod Security Standard (kubernetes.io/docs/concepts/security/pod-security-standards),
// every control of the baseline and restricted profiles, checked on a pod spec as the
// PodSecurity admission plugin checks it. Each violation names its control.

const BASELINE_CAPABILITIES = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);
const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
]);
const SELINUX_TYPES = new Set([
  "",
  "container_t",
  "container_init_t",
  "container_kvm_t",
  "container_engine_t",
]);
const RESTRICTED_VOLUME_SOURCES = new Set([
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
]);

// biome-ignore lint/suspicious/noExplicitAny: a pod spec as rendered, read field by field
type Json = any;

/** The controls a pod spec breaks (empty when it meets the restricted standard). */
export function restrictedViolations(podSpec: Json, podAnnotations: Record<string, string> = {}): string[] {
  const found: string[] = [];
  const pod = podSpec.securityContext ?? {};
  const containers: Json[] = [
    ...(podSpec.containers ?? []),
    ...(podSpec.initContainers ?? []),
    ...(podSpec.ephemeralContainers ?? []),
  ];
  const each = (check: (sc: Json, name: string) => string | undefined) => {
    for (const container of containers) {
      const problem = check(container.securityContext ?? {}, container.name);
      if (problem) found.push(`${container.name}: ${problem}`);
    }
  };

  // Baseline.
  if (pod.windowsOptions?.hostProcess) found.push("HostProcess: pod sets windowsOptions.hostProcess");
  each((sc) => (sc.windowsOptions?.hostProcess ? "HostProcess: windowsOptions.hostProcess" : undefined));
  for (const field of ["hostNetwork", "hostPID", "hostIPC"]) {
    if (podSpec[field]) found.push(`Host namespaces: ${field} is true`);
  }
  each((sc) => (sc.privileged ? "Privileged containers: privileged is true" : undefined));
  each((sc) => {
    const added: string[] = sc.capabilities?.add ?? [];
    const bad = added.filter((cap) => !BASELINE_CAPABILITIES.has(cap));
    return bad.length ? `Capabilities (baseline): adds ${bad.join(", ")}` : undefined;
  });
  for (const volume of podSpec.volumes ?? []) {
    if (volume.hostPath) found.push(`HostPath volumes: volume ${volume.name}`);
  }
  for (const container of containers) {
    for (const port of container.ports ?? []) {
      if (port.hostPort) found.push(`${container.name}: Host ports: hostPort ${port.hostPort}`);
    }
  }
  const appArmorOk = (type: string | undefined) =>
    type === undefined || type === "RuntimeDefault" || type === "Localhost";
  if (!appArmorOk(pod.appArmorProfile?.type))
    found.push("AppArmor: pod profile is not RuntimeDefault/Localhost");
  each((sc) => (appArmorOk(sc.appArmorProfile?.type) ? undefined : "AppArmor: profile is Unconfined"));
  for (const [key, value] of Object.entries(podAnnotations)) {
    if (key.startsWith("container.apparmor.security.beta.kubernetes.io/")) {
      if (value !== "runtime/default" && !value.startsWith("localhost/"))
        found.push(`AppArmor: ${key}=${value}`);
    }
  }
  const seLinuxProblem = (options: Json): string | undefined => {
    if (!options) return undefined;
    if (!SELINUX_TYPES.has(options.type ?? "")) return `SELinux: type ${options.type}`;
    if (options.user || options.role) return "SELinux: user or role is set";
    return undefined;
  };
  const podSeLinux = seLinuxProblem(pod.seLinuxOptions);
  if (podSeLinux) found.push(podSeLinux);
  each((sc) => seLinuxProblem(sc.seLinuxOptions));
  each((sc) =>
    sc.procMount === undefined || sc.procMount === "Default" ? undefined : `/proc mount: ${sc.procMount}`,
  );
  if (pod.seccompProfile?.type === "Unconfined") found.push("Seccomp (baseline): pod profile is Unconfined");
  for (const sysctl of pod.sysctls ?? []) {
    if (!SAFE_SYSCTLS.has(sysctl.name)) found.push(`Sysctls: ${sysctl.name} is not in the safe set`);
  }

  // Restricted.
  for (const volume of podSpec.volumes ?? []) {
    const sources = Object.keys(volume).filter((key) => key !== "name");
    for (const source of sources) {
      if (!RESTRICTED_VOLUME_SOURCES.has(source)) found.push(`Volume types: ${volume.name} is ${source}`);
    }
  }
  each((sc) =>
    sc.allowPrivilegeEscalation === false
      ? undefined
      : "Privilege escalation: allowPrivilegeEscalation must be false",
  );
  each((sc) => {
    const nonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
    return nonRoot === true ? undefined : "Running as non-root: runAsNonRoot must be true";
  });
  if (pod.runAsUser === 0) found.push("Running as non-root user: pod runAsUser is 0");
  each((sc) => (sc.runAsUser === 0 ? "Running as non-root user: runAsUser is 0" : undefined));
  each((sc) => {
    const type = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
    return type === "RuntimeDefault" || type === "Localhost"
      ? undefined
      : `Seccomp: profile is ${type ?? "unset"}, must be RuntimeDefault or Localhost`;
  });
  each((sc) => {
    const drop: string[] = sc.capabilities?.drop ?? [];
    const add: string[] = sc.capabilities?.add ?? [];
    if (!drop.includes("ALL")) return "Capabilities: must drop ALL";
    const bad = add.filter((cap) => cap !== "NET_BIND_SERVICE");
    return bad.length ? `Capabilities: may add only NET_BIND_SERVICE, adds ${bad.join(", ")}` : undefined;
  });
  return found;
}
