import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { PACKAGE_ROOT } from "../../src/util/paths.js";

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  base: string;
  name: string;
  instructions: Instruction[];
}

/** The Dockerfile's stages and instructions (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): { args: Instruction[]; stages: Stage[] } {
  const lines = text.replace(/\\\n/g, " ").split("\n");
  const args: Instruction[] = [];
  const stages: Stage[] = [];
  for (const line of lines.map((l) => l.trim())) {
    if (line === "" || line.startsWith("#")) continue;
    const [keyword = "", ...rest] = line.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), args: rest.join(" ") };
    if (instruction.keyword === "FROM") {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      assert.ok(match, `FROM ${instruction.args}`);
      stages.push({ base: match[1] as string, name: match[2] ?? String(stages.length), instructions: [] });
    } else if (stages.length === 0) args.push(instruction);
    else stages.at(-1)?.instructions.push(instruction);
  }
  return { args, stages };
}

const dockerfile = readFileSync(join(PACKAGE_ROOT, "Dockerfile"), "utf8");
const { args, stages } = parseDockerfile(dockerfile);
const final = stages.at(-1) as Stage;
const of = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);

const stage = (name: string) => stages.find((s) => s.name === name) as Stage;
const runs = (name: string) => of(stage(name), "RUN").map((i) => i.args);
const argValue = (name: string) => args.find((a) => a.args.startsWith(`${name}=`))?.args.split("=")[1];

describe("Dockerfile", () => {
  test("is multi-stage: build, production dependencies, the shipped tree, the sandbox target and the product last", () => {
    assert.deepEqual(
      stages.map((s) => s.name),
      ["build", "prod-deps", "sandbox-deps", "app", "sandbox", "runtime"],
    );
    assert.ok(
      runs("build").some((r) => /npm ci\b(?!.*--omit=dev)/.test(r)),
      "build installs dev deps",
    );
    assert.ok(runs("build").some((r) => r.includes("npm run build")));
    assert.ok(runs("prod-deps").some((r) => r.includes("npm ci --omit=dev")));
  });

  test("needs no BuildKit frontend from a registry (no syntax directive)", () => {
    assert.ok(!/^#\s*syntax\s*=/im.test(dockerfile), "a # syntax= line makes BuildKit pull a frontend");
  });

  test("pins every base image by digest, given as a build argument a local stand-in can override", () => {
    for (const name of ["NODE_DIGEST", "RUNTIME_DIGEST"]) {
      assert.match(argValue(name) ?? "", /^sha256:[0-9a-f]{64}$/, name);
    }
    for (const s of stages) {
      const local = stages.some((other) => other.name === s.base);
      if (!local) assert.match(s.base, /^\$\{(NODE|RUNTIME)_IMAGE\}@\$\{\1_DIGEST\}$/, `FROM ${s.base}`);
    }
  });

  test("an npm ci that fails but exits 0 fails the build", () => {
    const install = runs("build").find((r) => r.includes("npm ci")) ?? "";
    assert.match(install, /&& npm ls --all >\/dev\/null/);
    assert.match(install, /&& test -x node_modules\/\.bin\/tsc/);
    assert.match(runs("prod-deps").find((r) => r.includes("npm ci")) ?? "", /&& node check-install\.cjs/);
  });

  test("the install check fails on a half-empty node_modules, and passes on a whole one", () => {
    // What npm's "Exit handler never called!" leaves: some packages, not all.
    const dir = mkdtempSync(join(tmpdir(), "azid-npm-check-"));
    try {
      for (const file of ["package.json", "package-lock.json"])
        cpSync(join(PACKAGE_ROOT, file), join(dir, file));
      cpSync(join(PACKAGE_ROOT, "node_modules", "yaml"), join(dir, "node_modules", "yaml"), {
        recursive: true,
      });
      const check = join(PACKAGE_ROOT, "scripts", "check-install.cjs");
      const half = spawnSync(process.execPath, [check], { cwd: dir, encoding: "utf8" });
      assert.notEqual(half.status, 0, "the check passes a half-empty node_modules");
      assert.match(half.stderr, /npm ci left out \d+ package\(s\) the product needs: .*node_modules\/@azure/);
      // The whole install of this checkout has every package the product needs.
      const whole = spawnSync(process.execPath, [check], { cwd: PACKAGE_ROOT, encoding: "utf8" });
      assert.equal(whole.status, 0, whole.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("npm gets a proxy's CA through a build secret, never a layer", () => {
    for (const run of [...runs("build"), ...runs("prod-deps")].filter((r) => r.includes("npm ci"))) {
      assert.match(run, /--mount=type=secret,id=npm-ca\b/);
      assert.match(run, /NODE_EXTRA_CA_CERTS=\/run\/secrets\/npm-ca/);
    }
    assert.ok(!/COPY[^\n]*(\.crt|\.pem|ca-certificates)/i.test(dockerfile), "no CA file is copied");
  });

  test("the shipped stages run as a numeric non-root user over code root owns, and have no build tools", () => {
    assert.match(argValue("RUNTIME_IMAGE") ?? "", /^gcr\.io\/distroless\/nodejs\d+-debian\d+:nonroot$/);
    for (const name of ["sandbox", "runtime"]) {
      const shipped = stage(name);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Dockerfile build arguments
      assert.equal(shipped.base, "${RUNTIME_IMAGE}@${RUNTIME_DIGEST}");
      const users = of(shipped, "USER");
      assert.equal(users.length, 1, name);
      const [uid, gid] = (users[0] as Instruction).args.split(":").map(Number);
      assert.ok(Number.isInteger(uid) && (uid as number) > 0, "numeric non-root uid");
      assert.ok(Number.isInteger(gid) && (gid as number) > 0, "numeric non-root gid");
      assert.deepEqual(of(shipped, "RUN"), [], "a shipped stage runs nothing (it has no shell)");
      // /app comes whole from the app stage, before USER and WORKDIR, without --chown: root owns it.
      const order = shipped.instructions.map((i) => i.keyword);
      const copyApp = shipped.instructions.findIndex(
        (i) => i.keyword === "COPY" && i.args === "--from=app /app /app",
      );
      assert.ok(copyApp >= 0 && copyApp < order.indexOf("WORKDIR") && copyApp < order.indexOf("USER"), name);
    }
  });

  test("ships production dependencies only; the emulators only in the sandbox target", () => {
    const appCopies = of(stage("app"), "COPY").map((i) => i.args);
    assert.deepEqual(
      appCopies.filter((c) => c.includes("node_modules")),
      ["--from=prod-deps /app/node_modules /app/node_modules"],
    );
    for (const copy of appCopies) {
      assert.match(copy, /^--from=(build|prod-deps)\b/, `copies only from earlier stages: ${copy}`);
      assert.ok(!/\/src\/(src|test|bench|node_modules)\b/.test(copy), `no sources or dev deps: ${copy}`);
    }
    assert.ok(appCopies.some((c) => c.includes("/src/dist/src /app/dist/src")));
    assert.ok(
      runs("prod-deps").some((r) => r.includes("npm ci --omit=dev --workspaces=false")),
      "the product's dependencies leave the emulator workspaces out",
    );
    assert.deepEqual(
      of(final, "COPY").map((i) => i.args),
      ["--from=app /app /app"],
    );
    const sandboxCopies = of(stage("sandbox"), "COPY").map((i) => i.args);
    for (const emulator of ["arm-emulator", "kube-emulator"]) {
      assert.ok(
        sandboxCopies.includes(`--from=build /src/packages/${emulator}/dist /app/packages/${emulator}/dist`),
      );
    }
    assert.ok(sandboxCopies.includes("--from=sandbox-deps /app/node_modules /app/node_modules"));
  });

  test("starts azid controller by default, serving metrics on the port it exposes", () => {
    const entrypoint = JSON.parse((of(final, "ENTRYPOINT")[0] as Instruction).args);
    assert.equal(entrypoint[0], "/nodejs/bin/node");
    assert.equal(entrypoint.at(-1), "/app/bin/azid.js");
    const command: string[] = JSON.parse((of(final, "CMD")[0] as Instruction).args);
    assert.equal(command[0], "controller");
    const metricsAddr = command.find((a) => a.startsWith("--metrics-addr="))?.split("=")[1];
    assert.match(
      metricsAddr ?? "",
      /^:\d+$/,
      "metrics on every interface, or EXPOSE would name a port nothing outside reaches",
    );
    assert.deepEqual(
      of(final, "EXPOSE").map((i) => i.args),
      [metricsAddr?.slice(1)],
    );
  });

  test("bakes in no secret and fetches nothing from URLs", () => {
    for (const instruction of [...args, ...stages.flatMap((s) => s.instructions)]) {
      if (instruction.keyword === "ARG" || instruction.keyword === "ENV") {
        assert.ok(!/(SECRET|PASSWORD|TOKEN|KEY|CREDENTIAL)/i.test(instruction.args), instruction.args);
      }
      assert.ok(instruction.keyword !== "ADD", "COPY, not ADD");
      assert.ok(!/\b(curl|wget)\b/.test(instruction.args), instruction.args);
    }
  });

  test(".dockerignore is an allowlist of what the build copies", () => {
    const lines = readFileSync(join(PACKAGE_ROOT, ".dockerignore"), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    assert.equal(lines[0], "*", "everything is excluded first");
    const allowed = lines
      .slice(1)
      .filter((l) => l.startsWith("!"))
      .map((l) => l.replace(/^!/, "").replace(/\/$/, ""));
    const keptOut = lines.slice(1).filter((l) => !l.startsWith("!"));
    assert.deepEqual(keptOut.sort(), ["packages/*/dist/", "packages/*/node_modules/", "packages/*/test/"]);
    assert.deepEqual(allowed.sort(), [
      "bin",
      "crds",
      "package-lock.json",
      "package.json",
      "packages",
      "scripts/check-install.cjs",
      "spec",
      "src",
      "tsconfig.build.json",
      "tsconfig.json",
    ]);
  });
});

describe("the runtime stage's files", () => {
  const app = mkdtempSync(join(tmpdir(), "azid-image-"));
  after(() => rmSync(app, { recursive: true, force: true }));

  test("run azid with production dependencies only", () => {
    // What the runtime stage holds, assembled without a Docker engine.
    for (const path of ["package.json", "package-lock.json", "bin", "spec", join("dist", "src")]) {
      cpSync(join(PACKAGE_ROOT, path), join(app, path), { recursive: true });
    }
    const install = spawnSync(
      "npm",
      ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"],
      { cwd: app, encoding: "utf8" },
    );
    assert.equal(install.status, 0, install.stderr);
    for (const command of [["--help"], ["sandbox", "--help"]]) {
      const run = spawnSync(process.execPath, [join(app, "bin", "azid.js"), ...command], {
        cwd: app,
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "", NODE_ENV: "production" },
      });
      assert.equal(run.status, 0, `azid ${command.join(" ")}: ${run.stderr}`);
      assert.match(run.stdout, /Usage: azid/);
    }
  });
});
