// The controllers `azid controller` runs: add one here and the manager gives it a work queue, the
// informers it declares, resync, metrics and a share of leader duties.
import {
  customRoleController,
  systemAssignedIdentityController,
  userAssignedIdentityController,
} from "./identity-controllers.js";
import type { ControllerDefinition } from "./reconciler.js";
import { tenantMigrationController } from "./tenant-migration-controller.js";

export const CONTROLLERS: readonly ControllerDefinition[] = [
  customRoleController(),
  userAssignedIdentityController(),
  systemAssignedIdentityController(),
  tenantMigrationController(),
];
