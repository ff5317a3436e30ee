/** Composition root: builds the core from config and starts the server. */
export { startServer, type RunningServer, type StartOptions } from './serve.js';
export { preflight, PreflightError, type Problem } from './preflight.js';
export { acquireDataDirLock, DataDirLockedError, lockPath, type DataDirLock } from './data-dir-lock.js';
export { bootstrapTokenPath } from './bootstrap-file.js';
export { buildCore, buildLogger, type Core } from './compose.js';
export { loadTlsMaterial, type TlsMaterial } from './tls-material.js';
export { createBackup, restoreBackup } from './backup.js';
export { changeMasterSecret } from './master-change.js';
export { startMetricsListener, metricsAccess, MIN_METRICS_TOKEN_LENGTH, type MetricsListener, type MetricsListenerOptions, type MetricsAccess } from './metrics-listener.js';
