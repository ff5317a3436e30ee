/** Configuration: one zod schema per section, YAML file plus environment overrides, secret references. */
export { Cidr, ConfigSchema, SecretRef, type Config } from './schema.js';
export { DETECT_RULE_IDS, DetectSection } from './detect-section.js';
export { adminSocketPath, loadConfig, ConfigError } from './load.js';
export { resolveSecret, secretFilePath } from './secret-ref.js';
export { postgresUrlInfo, storeTlsDecision, isLoopbackHost } from './store-tls.js';
export { AlertsSection, SYSLOG_FACILITIES, type AlertChannelConfig, type AlertsConfig } from './alerts-section.js';
export { ResponseSection, type ResponseConfig } from './response-section.js';
