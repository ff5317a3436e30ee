/** Configuration: one zod schema per section, YAML file plus environment overrides, secret references. */
export { Cidr, ConfigSchema, SecretRef, type Config } from './schema.js';
export { adminSocketPath, loadConfig, ConfigError } from './load.js';
export { resolveSecret, secretFilePath } from './secret-ref.js';
export { postgresUrlInfo, storeTlsDecision, isLoopbackHost } from './store-tls.js';
export { ResponseSection, type ResponseConfig } from './response-section.js';
