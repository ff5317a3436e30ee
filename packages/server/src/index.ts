/** @palisade/server public entry: start a server programmatically (tests, benchmarks, embedding). */
export { startServer, buildCore, type RunningServer, type Core } from './server/index.js';
export { loadConfig, ConfigError, type Config } from './config/index.js';
