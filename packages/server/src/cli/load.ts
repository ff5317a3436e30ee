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
        `${e.message}\nFix the problems above (see docs/operations.md) and try again (\`${withConfigFlag(`${CLI} config check --connect`, file)}\` checks more than the file).\n`,
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

/**
 * `command` with the same `--config FILE` the operator gave, for hints: a server started with
 * `--config /etc/palisade/palisade.yaml` is not checked (or reached) by a bare `config check`.
 */
export function withConfigFlag(command: string, file: string | undefined): string {
  if (file === undefined) return command;
  return `${command} --config ${/^[\w./:@%+,=-]+$/.test(file) ? file : `'${file.replaceAll("'", "'\\''")}'`}`;
}

/** What to say when the admin socket does not answer: which socket was tried, and how to name the right one. */
export function adminSocketUnreachable(path: string, code: string, file: string | undefined): string {
  const which =
    configPath(file) === undefined
      ? `\nNo configuration was given, so this is the default socket; for a server started with --config FILE or PALISADE_DATA_DIR, give the same here.`
      : '';
  return `cannot reach the admin socket ${path} (${code}).${which}\nIs the server running as this user? For invites you can use --offline with the server's config.`;
}

/** Prints what went wrong (and what to do) and exits 1. */
export function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
