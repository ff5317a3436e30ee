import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigSchema, type Config } from './schema.js';

/** One problem found in a configuration, with where and how to fix it. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** Thrown when a configuration is invalid; lists every problem at once. */
export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(`invalid configuration:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Environment variables that override config keys. Values are parsed as JSON when they look like it. */
export const ENV_OVERRIDES: Record<string, string> = {
  PALISADE_DATA_DIR: 'dataDir',
  PALISADE_HOST: 'server.host',
  PALISADE_PORT: 'server.port',
  PALISADE_ALLOWED_ORIGINS: 'server.allowedOrigins',
  PALISADE_TLS_MIN_VERSION: 'server.tls.minVersion',
  PALISADE_TLS_CERT_FILE: 'server.tls.certFile',
  PALISADE_TLS_KEY_FILE: 'server.tls.keyFile',
  PALISADE_ADMIN_SOCKET: 'server.adminSocket',
  PALISADE_STORE_URL: 'store.url',
  PALISADE_STORE_PASSWORD: 'store.password',
  PALISADE_STORE_SCHEMA: 'store.schema',
  PALISADE_STORE_TLS_MODE: 'store.tls.mode',
  PALISADE_STORE_TLS_CA: 'store.tls.ca',
  PALISADE_STORE_TLS_CERT: 'store.tls.cert',
  PALISADE_STORE_TLS_KEY: 'store.tls.key',
  PALISADE_LOG_LEVEL: 'log.level',
  PALISADE_TRUST_PROXY: 'server.trustProxy',
  PALISADE_METRICS_ENABLED: 'metrics.enabled',
  PALISADE_METRICS_HOST: 'metrics.host',
  PALISADE_METRICS_PORT: 'metrics.port',
  PALISADE_METRICS_TOKEN: 'metrics.token',
  PALISADE_ORG_NAME: 'org.name',
  PALISADE_E2EE_REQUIRED: 'e2ee.required',
  PALISADE_KEYS_PROVIDER: 'keys.provider',
  PALISADE_MASTER_SECRET: 'keys.masterSecret',
  PALISADE_PKCS11_LIBRARY: 'keys.pkcs11.library',
  PALISADE_PKCS11_TOKEN_LABEL: 'keys.pkcs11.tokenLabel',
  PALISADE_PKCS11_PIN: 'keys.pkcs11.pin',
  PALISADE_PKCS11_LABEL_PREFIX: 'keys.pkcs11.labelPrefix',
};

/**
 * Builds a validated Config from an optional YAML file and environment overrides.
 * Collects every problem and throws one ConfigError listing them all.
 */
export function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv } = {}): Config {
  const env = opts.env ?? {};
  let raw: unknown = {};
  if (opts.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (e) {
      throw new ConfigError([
        { path: opts.file, message: `cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})` },
      ]);
    }
    try {
      raw = parseYaml(text) ?? {};
    } catch (e) {
      throw new ConfigError([{ path: opts.file, message: `not valid YAML: ${(e as Error).message.split('\n')[0]}` }]);
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      throw new ConfigError([{ path: opts.file, message: 'the top level must be a mapping' }]);
    }
  }
  const merged = structuredClone(raw) as Record<string, unknown>;
  const fromEnv: { name: string; path: string; value: string }[] = [];
  for (const [name, path] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    setPath(merged, path, coerceEnv(path, value));
    fromEnv.push({ name, path, value });
  }
  const result = ConfigSchema.safeParse(merged);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => {
        const path = i.path.join('.') || '(root)';
        const message =
          i.code === 'unrecognized_keys'
            ? `unknown key(s) ${i.keys.join(', ')}; check the spelling`
            : plainMessage(i.message);
        // A value that came from the environment is named by its variable, not by the YAML key it sets.
        const src = fromEnv.find((o) => path === o.path || path.startsWith(`${o.path}.`));
        if (!src) return { path, message };
        return { path: `${src.name}=${shownValue(src.name, src.value)}`, message: `${message} (it sets ${src.path})` };
      }),
    );
  }
  return result.data;
}

/** SECURITY: variables that may hold a secret by mistake (instead of a secret:// reference) are never echoed. */
const SECRET_VARS = /(PASSWORD|SECRET|PIN|_KEY)$/;

/** An environment value as an error may show it: secrets hidden, a password in a URL masked. */
function shownValue(name: string, value: string): string {
  if (SECRET_VARS.test(name)) return '(value hidden)';
  return value.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}

/** zod's "Invalid input: expected number, received string" as "expected a number". */
function plainMessage(m: string): string {
  const t = /^Invalid input: expected (\w+), received \w+$/.exec(m);
  if (!t) return m;
  const type = t[1] as string;
  return `expected ${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

function coerceEnv(path: string, value: string): unknown {
  if ((path === 'metrics.enabled' || path === 'e2ee.required') && /^(true|false)$/.test(value)) return value === 'true';
  if (path === 'server.allowedOrigins' || path === 'server.trustProxy')
    return value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  return value;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    const next = cur[k];
    if (typeof next !== 'object' || next === null) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1] as string] = value;
}

/** Where the admin socket is: `server.adminSocket`, or `<dataDir>/admin.sock`. */
export function adminSocketPath(config: Config): string {
  return config.server.adminSocket ?? join(config.dataDir, 'admin.sock');
}
