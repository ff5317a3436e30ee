import { Command } from 'commander';
import { ConfigError, loadConfig } from '../config/index.js';

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
        process.stdout.write(`configuration OK: port ${config.server.port}, TLS min ${config.server.tls.minVersion}, store ${config.store.url ?? 'sqlite (data directory)'}\n`);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        process.stderr.write(`${e.message}\n`);
        process.exitCode = 2;
      }
    });
  return cmd;
}
