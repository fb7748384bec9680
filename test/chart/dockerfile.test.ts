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

describe("Dockerfile", () => {
  test("is multi-stage: a build stage, a production-dependencies stage and a runtime stage", () => {
    assert.deepEqual(
      stages.map((s) => s.name),
      ["build", "prod-deps", "runtime"],
    );
    const runs = (stage: Stage) => of(stage, "RUN").map((i) => i.args);
    assert.ok(
      runs(stages[0] as Stage).some((r) => /npm ci\b(?!.*--omit=dev)/.test(r)),
      "build installs dev deps",
    );
    assert.ok(runs(stages[0] as Stage).some((r) => r.includes("npm run build")));
    assert.ok(runs(stages[1] as Stage).some((r) => r.includes("npm ci --omit=dev")));
  });

  test("the runtime stage is small, runs as a numeric non-root user and has no build tools", () => {
    const baseArg = args.find((a) => a.args.startsWith("RUNTIME_IMAGE="))?.args.split("=")[1];
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile build argument
    assert.equal(final.base, "${RUNTIME_IMAGE}");
    assert.match(baseArg ?? "", /^gcr\.io\/distroless\/nodejs\d+-debian\d+:nonroot$/);
    const users = of(final, "USER");
    assert.equal(users.length, 1);
    const [uid, gid] = (users[0] as Instruction).args.split(":").map(Number);
    assert.ok(Number.isInteger(uid) && (uid as number) > 0, "numeric non-root uid");
    assert.ok(Number.isInteger(gid) && (gid as number) > 0, "numeric non-root gid");
    assert.deepEqual(of(final, "RUN"), [], "the runtime stage runs nothing (it has no shell)");
  });

  test("ships production dependencies only: node_modules comes from the prod-deps stage", () => {
    const copies = of(final, "COPY").map((i) => i.args);
    const modules = copies.filter((c) => c.includes("node_modules"));
    assert.deepEqual(modules, ["--from=prod-deps /app/node_modules ./node_modules"]);
    for (const copy of copies) {
      assert.match(copy, /^--from=(build|prod-deps)\b/, `runtime copies only from earlier stages: ${copy}`);
      assert.ok(!/\/src\/(src|test|bench|node_modules)\b/.test(copy), `no sources or dev deps: ${copy}`);
    }
    assert.ok(copies.some((c) => c.includes("/src/dist/src ./dist/src")));
  });

  test("starts azid controller by default, with azid as the entry point", () => {
    const entrypoint = JSON.parse((of(final, "ENTRYPOINT")[0] as Instruction).args);
    assert.equal(entrypoint[0], "/nodejs/bin/node");
    assert.equal(entrypoint.at(-1), "/app/bin/azid.js");
    assert.deepEqual(JSON.parse((of(final, "CMD")[0] as Instruction).args), ["controller"]);
    assert.deepEqual(
      of(final, "EXPOSE").map((i) => i.args),
      ["8080"],
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
    const allowed = lines.slice(1).map((l) => l.replace(/^!/, "").replace(/\/$/, ""));
    assert.deepEqual(allowed.sort(), [
      "bin",
      "crds",
      "package-lock.json",
      "package.json",
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
