// The public surface of src/plan: planners, the observed state they read, the actions they emit.
export * from "./actions.js";
export * from "./apply-result.js";
export * from "./custom-role.js";
export * from "./failures.js";
export * from "./limits.js";
export * from "./observed.js";
export * from "./plan-types.js";
export * from "./policy.js";
export * from "./remediation.js";
export * from "./simulate.js";
export * from "./system-assigned.js";
export * from "./user-assigned.js";
