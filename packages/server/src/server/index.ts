/** Composition root: builds the core from config and starts the server. */
export { startServer, type RunningServer } from './serve.js';
export { preflight, PreflightError } from './preflight.js';
export { dataDirInUse, DataDirLockedError } from './data-dir-lock.js';
export { buildCore, type Core } from './compose.js';
export { createBackup, restoreBackup } from './backup.js';
export { changeMasterSecret } from './master-change.js';
/** For the drill and security CLI commands (detect's types: the CLI may not import detect/ itself). */
export { DRILL_SCENARIOS, isDrillScenario, type DrillScenario } from './drills.js';
export type { Durations, SecurityStatus } from './security-status.js';
export type { Alert, Containment, Finding } from '../detect/index.js';
