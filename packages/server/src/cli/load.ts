import { existsSync } from 'node:fs';
import { ConfigError, loadConfig, type Config } from '../config/index.js';

/**
 * How the operator runs the two CLIs, for hints: from the repository after `npm ci` and
 * `npm run build`, `npx palisade` and `npx palisade-chat` (node_modules/.bin holds both launchers).
 */
export const CLI = 'npx palisade';
/** See CLI. */
export const CHAT_CLI = 'npx palisade-chat';

/** Loads config from --config, $PALISADE_CONFIG or ./palisade.yaml (first found), plus PALISADE_* variables; exits 2 on errors. */
export function loadOrExit(file: string | undefined): Config {
  try {
    return loadConfig({ file: configPath(file), env: process.env });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(
        `${e.message}\nFix the problems above (see docs/operations.md) and try again (\`${CLI} config check --connect\` checks more than the file).\n`,
      );
      process.exit(2);
    }
    throw e;
  }
}

/** The configuration file: --config, $PALISADE_CONFIG or ./palisade.yaml (first found), or none. */
export function configPath(file: string | undefined): string | undefined {
  return file ?? process.env.PALISADE_CONFIG ?? (existsSync('palisade.yaml') ? 'palisade.yaml' : undefined);
}

/** Prints what went wrong (and what to do) and exits 1. */
export function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
