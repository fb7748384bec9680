import assert from "node:assert/strict";
import { test } from "node:test";
import { restrictedViolations } from "./pod-security.js";

const compliant = {
  securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: "RuntimeDefault" } },
  containers: [
    {
      name: "app",
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
      ports: [{ containerPort: 8080 }],
    },
  ],
  volumes: [{ name: "tmp", emptyDir: {} }],
};

test("a pod that meets the restricted standard has no violation", () => {
  assert.deepEqual(restrictedViolations(compliant), []);
});

test("the checker flags every control of the baseline and restricted standards", () => {
  const pod = {
    hostNetwork: true,
    hostPID: true,
    hostIPC: true,
    securityContext: {
      windowsOptions: { hostProcess: true },
      runAsUser: 0,
      seLinuxOptions: { type: "spc_t" },
      sysctls: [{ name: "kernel.msgmax", value: "1" }],
      appArmorProfile: { type: "Unconfined" },
    },
    initContainers: [
      {
        name: "init",
        securityContext: {
          privileged: true,
          capabilities: { add: ["SYS_ADMIN"] },
          procMount: "Unmasked",
          seccompProfile: { type: "Unconfined" },
          runAsNonRoot: false,
        },
        ports: [{ containerPort: 80, hostPort: 80 }],
      },
    ],
    containers: [{ name: "app", securityContext: { seLinuxOptions: { user: "root" } } }],
    volumes: [
      { name: "host", hostPath: { path: "/" } },
      { name: "nfs", nfs: { server: "x", path: "/" } },
    ],
  };
  const found = restrictedViolations(pod, {
    "container.apparmor.security.beta.kubernetes.io/app": "unconfined",
  });
  for (const control of [
    "HostProcess",
    "Host namespaces: hostNetwork",
    "Host namespaces: hostPID",
    "Host namespaces: hostIPC",
    "Privileged containers",
    "Capabilities (baseline)",
    "HostPath volumes",
    "Host ports",
    "AppArmor: pod profile",
    "AppArmor: container.apparmor",
    "SELinux: type",
    "SELinux: user or role",
    "/proc mount",
    "Sysctls",
    "Volume types: nfs",
    "Privilege escalation",
    "Running as non-root:",
    "Running as non-root user",
    "Seccomp: profile is Unconfined",
    "Capabilities: must drop ALL",
  ]) {
    assert.ok(
      found.some((violation) => violation.includes(control)),
      `${control} not flagged in:\n${found.join("\n")}`,
    );
  }
});

test("container settings override the pod's, both ways", () => {
  const container = {
    ...compliant.containers[0],
    securityContext: { ...compliant.containers[0]?.securityContext, runAsNonRoot: false },
  };
  const spec = { ...compliant, containers: [container] };
  assert.match(restrictedViolations(spec).join(), /runAsNonRoot must be true/);
  const noPodSeccomp = { ...compliant, securityContext: { runAsNonRoot: true } };
  assert.match(restrictedViolations(noPodSeccomp).join(), /Seccomp: profile is unset/);
});
