import { existsSync } from 'node:fs';
import { ConfigError, loadConfig, type Config } from '../config/index.js';

/** Loads config from --config, $PALISADE_CONFIG or ./palisade.yaml (first found), plus PALISADE_* variables; exits 2 on errors. */
export function loadOrExit(file: string | undefined): Config {
  const path = file ?? process.env.PALISADE_CONFIG ?? (existsSync('palisade.yaml') ? 'palisade.yaml' : undefined);
  try {
    return loadConfig({ file: path, env: process.env });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\nFix the problems above (see docs/operations.md) and try again.\n`);
      process.exit(2);
    }
    throw e;
  }
}

/** Prints what went wrong (and what to do) and exits 1. */
export function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
