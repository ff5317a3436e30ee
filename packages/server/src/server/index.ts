/** Composition root: builds the core from config and starts the server. */
export { startServer, type RunningServer } from './serve.js';
export { preflight, PreflightError } from './preflight.js';
export { dataDirInUse, DataDirLockedError } from './data-dir-lock.js';
export { buildCore, type Core } from './compose.js';
export { createBackup, restoreBackup } from './backup.js';
export { changeMasterSecret } from './master-change.js';
export {
  DRILL_SCENARIOS,
  DrillRegistry,
  isDrillScenario,
  type DrillInfo,
  type DrillScenario,
  type SecurityFilter,
  type SecurityQueries,
} from './drills.js';
export { handleDrillAdmin, type DrillAdminDeps, type DrillFixtures } from './admin-drills.js';
export {
  durations,
  responseTimesByRule,
  securityStatus,
  type Durations,
  type RuleResponseTimes,
  type SecurityStatus,
} from './security-status.js';
/** detect's shared types, for the CLI (which may not import detect/ itself). */
export type { Alert, Containment, Finding } from '../detect/index.js';
