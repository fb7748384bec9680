// The public surface of src/api: resources, their schemas and types, validation, ARM ids and names.
export * from "./arm-id.js";
export * from "./builtin-roles.js";
export * from "./conditions.js";
export * from "./crd.js";
export * from "./kinds.js";
export * from "./names.js";
export { PATTERNS } from "./patterns.js";
export * from "./role-permissions.js";
export * from "./schemas/common.js";
export * from "./schemas/custom-role.js";
export * from "./schemas/identity-policy.js";
export * from "./schemas/key-vault.js";
export * from "./schemas/system-assigned-identity.js";
export * from "./schemas/tenant-migration.js";
export * from "./schemas/user-assigned-identity.js";
export * from "./schemas/workload-wiring.js";
export { AZID_NAMESPACE, uuidV5 } from "./uuid.js";
export * from "./validate.js";
