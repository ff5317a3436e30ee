import { Command } from 'commander';
import { accessSync, constants } from 'node:fs';
import { ConfigError, loadConfig, storeTlsDecision, type Config } from '../config/index.js';

/** How the store is reached, for the check's summary; and unreadable TLS files, as problems. */
function describeStore(config: Config): { line: string; problems: string[] } {
  const s = config.store;
  if (s.url === undefined || !/^postgres(ql)?:\/\//.test(s.url)) return { line: `store ${s.url ?? 'sqlite (data directory)'}`, problems: [] };
  const { mode } = storeTlsDecision(s.url, s.tls);
  const problems: string[] = [];
  for (const [key, path] of [['store.tls.ca', s.tls?.ca], ['store.tls.cert', s.tls?.cert]] as const) {
    if (path === undefined) continue;
    try {
      accessSync(path, constants.R_OK);
    } catch {
      problems.push(`  - ${key}: cannot read ${path}`);
    }
  }
  const tls = mode === 'disable' ? 'no TLS' : `TLS ${mode}, CA ${s.tls?.ca ?? '?'}${s.tls?.cert ? ', client certificate' : ''}`;
  return { line: `store ${s.url} (${tls})`, problems };
}

/** `palisade config check`: validate a file without starting anything. */
export function configCommands(): Command {
  const cmd = new Command('config').description('inspect configuration');
  cmd
    .command('check')
    .description('validate a configuration file and the PALISADE_* environment; prints every problem at once')
    .option('-c, --config <file>', 'configuration file (YAML)')
    .action((opts: { config?: string }) => {
      try {
        const config = loadConfig({ file: opts.config, env: process.env });
        const store = describeStore(config);
        if (store.problems.length > 0) {
          process.stderr.write(`invalid configuration:\n${store.problems.join('\n')}\n`);
          process.exitCode = 2;
          return;
        }
        process.stdout.write(`configuration OK: port ${config.server.port}, TLS min ${config.server.tls.minVersion}, ${store.line}\n`);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        process.stderr.write(`${e.message}\n`);
        process.exitCode = 2;
      }
    });
  return cmd;
}
