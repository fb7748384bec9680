// The architecture rules of docs/architecture.md, checked by dependency-cruiser on resolved paths
// (test/architecture.test.ts runs it; `npx depcruise src packages/*/src` shows the violations).
// A folder of src/ or a workspace package may import only the folders its row of LAYERS names;
// the rules after it restrict which folders import which npm packages.

/** Who may import whom: each folder (or package) and the folders it may import besides itself. */
const LAYERS = {
  "src/util": [],
  "src/api": ["src/util"],
  "src/plan": ["src/api", "src/util"],
  "src/observability": ["src/util"],
  "src/azure": ["src/plan", "src/api", "src/observability", "src/util"],
  "src/kube": ["src/api", "src/observability", "src/util"],
  "src/queue": ["src/observability", "src/util"],
  // The controller's configuration names the Azure and queue options it builds.
  "src/config": ["src/azure", "src/queue", "src/observability", "src/util"],
  // What the controller and the CLI share: the act loop, syncing one resource, the error policy.
  // It knows neither Kubernetes nor the controller's host: the queue only for its result types.
  "src/engine": ["src/plan", "src/api", "src/azure", "src/queue", "src/observability", "src/util"],
  "src/controller": [
    "src/engine",
    "src/plan",
    "src/api",
    "src/azure",
    "src/kube",
    "src/queue",
    "src/config",
    "src/observability",
    "src/util",
  ],
  // cli -> controller only from the `azid controller` command, cli -> the emulators only from the
  // sandbox stack, lazily (rules below).
  "src/cli": [
    "src/engine",
    "src/controller",
    "src/plan",
    "src/api",
    "src/azure",
    "src/kube",
    "src/config",
    "src/observability",
    "src/util",
    "packages/arm-emulator",
    "packages/kube-emulator",
  ],
  // The emulators import nothing of the product, nor each other.
  "packages/arm-emulator": [],
  "packages/kube-emulator": [],
};

/** The one module of the product that loads the emulator packages (lazily), and who may use it. */
const SANDBOX_STACK = "src/cli/sandbox-stack.ts";
const SANDBOX_COMMANDS = ["src/cli/commands/sandbox.ts", "src/cli/commands/demo.ts"];

/** Node built-ins that do I/O: plan/ and api/ are pure. */
const IO_BUILTINS =
  "^(node:)?(fs|fs/promises|http|https|http2|net|tls|dgram|dns|dns/promises|child_process|cluster|" +
  "worker_threads|readline|readline/promises|repl|inspector)$";
/** The only npm packages plan/ and api/ may import: pure schema and value code. */
const PURE_PACKAGES = ["typebox", "fastest-levenshtein"];

const escapeRegExp = (path) => path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const oneOf = (paths) => `^(${paths.map(escapeRegExp).join("|")})`;
const folderOf = (path) => `${oneOf([path])}/`;
const npm = (name) => `(^|/)node_modules/${escapeRegExp(name)}(/|$)`;

const layerRules = Object.entries(LAYERS).map(([folder, mayImport]) => ({
  name: `layer:${folder}`,
  comment: `${folder} may import only ${mayImport.length ? mayImport.join(", ") : "itself"} (LAYERS in .dependency-cruiser.mjs)`,
  severity: "error",
  from: { path: folderOf(folder) },
  to: {
    path: "^(src|packages)/",
    pathNot: `${oneOf([folder, ...mayImport])}/`,
  },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    ...layerRules,
    {
      name: "outside-the-table",
      comment: "a folder of src/ or packages/ that LAYERS does not list: give it a row",
      severity: "error",
      from: { path: "^(src|packages)/", pathNot: oneOf(Object.keys(LAYERS).map((f) => `${f}/`)) },
      to: {},
    },
    {
      name: "pure:no-io",
      comment: "plan/ and api/ import nothing that does I/O",
      severity: "error",
      from: { path: "^src/(plan|api)/" },
      to: { dependencyTypes: ["core"], path: IO_BUILTINS },
    },
    {
      name: "pure:npm",
      comment: `plan/ and api/ import no npm package but ${PURE_PACKAGES.join(", ")}`,
      severity: "error",
      from: { path: "^src/(plan|api)/" },
      to: { path: "(^|/)node_modules/", pathNot: PURE_PACKAGES.map(npm) },
    },
    {
      name: "only-azure-imports-azure-sdk",
      comment: "only src/azure imports @azure/*",
      severity: "error",
      from: { path: "^(src|packages)/", pathNot: "^src/azure/" },
      to: { path: "(^|/)node_modules/@azure/" },
    },
    {
      name: "only-kube-imports-client-node",
      comment: "only src/kube imports @kubernetes/client-node",
      severity: "error",
      from: { path: "^(src|packages)/", pathNot: "^src/kube/" },
      to: { path: npm("@kubernetes/client-node") },
    },
    {
      name: "only-queue-imports-bullmq",
      comment: "only src/queue imports bullmq",
      severity: "error",
      from: { path: "^(src|packages)/", pathNot: "^src/queue/" },
      to: { path: npm("bullmq") },
    },
    {
      name: "cli-not-controller",
      comment: "the CLI imports src/engine, never src/controller, except the azid controller command",
      severity: "error",
      from: {
        path: "^src/cli/",
        pathNot: oneOf(["src/cli/commands/controller.ts"]),
      },
      to: { path: "^src/controller/" },
    },
    {
      name: "product-not-emulators",
      comment: `production code never imports the emulator packages; only ${SANDBOX_STACK} loads them`,
      severity: "error",
      from: { path: "^src/", pathNot: oneOf([SANDBOX_STACK]) },
      to: { path: "(^|/)(packages/[^/]+-emulator|node_modules/@azid)/" },
    },
    {
      name: "emulators-loaded-lazily",
      comment: `${SANDBOX_STACK} loads the emulators by dynamic import only, so that the product runs without them`,
      severity: "error",
      from: { path: oneOf([SANDBOX_STACK]) },
      to: {
        path: "(^|/)(packages/[^/]+-emulator|node_modules/@azid)/",
        dependencyTypesNot: ["dynamic-import"],
      },
    },
    {
      name: "sandbox-stack-for-sandbox-commands",
      comment: `only ${SANDBOX_COMMANDS.join(" and ")} use ${SANDBOX_STACK}`,
      severity: "error",
      from: { path: "^src/", pathNot: oneOf([SANDBOX_STACK, ...SANDBOX_COMMANDS]) },
      to: { path: oneOf([SANDBOX_STACK]) },
    },
    {
      name: "resolvable",
      comment: "every import resolves (an unresolved one would escape the rules above)",
      severity: "error",
      from: { path: "^(src|packages)/" },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // TypeScript 7 has no JavaScript API for dependency-cruiser's own TypeScript parser.
    parser: "swc",
    // A workspace package resolves to its build (dist/): the edge counts, its insides do not.
    doNotFollow: { path: "(^|/)(node_modules|dist)/" },
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "types", "default"],
      extensions: [".ts", ".d.ts", ".js", ".json"],
    },
    // The CLI loads each command by dynamic import; the picture and the rules need those edges.
    skipAnalysisNotInRules: false,
  },
};
