// The controllers `azid controller` runs: add one here and the manager gives it a work queue, the
// informers it declares, resync, metrics and a share of leader duties.
import type { ControllerDefinition } from "./reconciler.js";

export const CONTROLLERS: readonly ControllerDefinition[] = [];
