/** Composition root: builds the core from config and starts the server. */
export { startServer, type RunningServer } from './serve.js';
export { buildCore, type Core } from './compose.js';
export { createBackup, restoreBackup } from './backup.js';
export { changeMasterSecret } from './master-change.js';
