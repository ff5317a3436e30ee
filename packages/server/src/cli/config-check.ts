import { Command } from 'commander';
import { ConfigError, loadConfig, storeTlsDecision, type Config } from '../config/index.js';
import { dataDirInUse, preflight } from '../server/index.js';
import { configPath } from './load.js';

/** How the store is reached, for the check's summary. */
function describeStore(config: Config): string {
  const s = config.store;
  if (s.url === undefined || !/^postgres(ql)?:\/\//.test(s.url)) return `store ${s.url ?? 'sqlite (data directory)'}`;
  const { mode } = storeTlsDecision(s.url, s.tls);
  const tls =
    mode === 'disable' ? 'no TLS' : `TLS ${mode}, CA ${s.tls?.ca ?? '?'}${s.tls?.cert ? ', client certificate' : ''}`;
  return `store ${s.url} (${tls})`;
}

/** `palisade config check`: validate a file without starting anything. */
export function configCommands(): Command {
  const cmd = new Command('config').description('inspect configuration');
  cmd
    .command('check')
    .description(
      'validate a configuration file and the PALISADE_* environment as `serve` would: every secret:// reference resolves, every file is readable, ' +
        'the TLS key matches its certificate, the master secret opens the keyring; prints every problem at once (exit 2)',
    )
    .option('-c, --config <file>', 'configuration file (YAML); default $PALISADE_CONFIG or ./palisade.yaml')
    .option(
      '--connect',
      'also bind the port for a moment, reach the store (one connection, SELECT 1) and log in to the PKCS#11 token; creates nothing',
    )
    .action(async (opts: { config?: string; connect?: boolean }) => {
      let config: Config;
      try {
        config = loadConfig({ file: configPath(opts.config), env: process.env });
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        process.stderr.write(`${e.message}\n`);
        process.exitCode = 2;
        return;
      }
      const problems = await preflight(config, process.env, { connect: opts.connect === true });
      // `serve` would refuse a data directory another live server holds (its lock); say so here too.
      const inUse = opts.connect ? dataDirInUse(config.dataDir) : undefined;
      if (inUse) problems.push({ key: 'dataDir', message: inUse.message });
      if (problems.length > 0) {
        process.stderr.write(
          `invalid configuration:\n${problems.map((p) => `  - ${p.key}: ${p.message}`).join('\n')}\n`,
        );
        process.exitCode = 2;
        return;
      }
      const reached = opts.connect
        ? `; reached the store${config.keys.provider === 'pkcs11' ? ' and the PKCS#11 token' : ''}`
        : ' (not connected: add --connect to reach the store and KMS)';
      process.stdout.write(
        `configuration OK: port ${config.server.port}, TLS min ${config.server.tls.minVersion}, ${describeStore(config)}${reached}\n`,
      );
    });
  return cmd;
}
