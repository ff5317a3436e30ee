/** Composition root: builds the core from config and starts the server. */
export { startServer, type RunningServer } from './serve.js';
export { preflight, PreflightError } from './preflight.js';
export { dataDirInUse, DataDirLockedError } from './data-dir-lock.js';
export { buildCore, type Core } from './compose.js';
export { createBackup, restoreBackup } from './backup.js';
export { changeMasterSecret } from './master-change.js';
