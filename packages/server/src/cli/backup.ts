import { resolve } from 'node:path';
import { Command } from 'commander';
import { createBackup, restoreBackup } from '../server/index.js';
import { adminSocketPath } from '../config/index.js';
import { fail, loadOrExit } from './load.js';
import { serverRunning } from './running.js';

const say = (line: string) => process.stderr.write(`${line}\n`);

/** `palisade backup create|restore`: encrypted, consistent backups of the store. */
export function backupCommands(): Command {
  const backup = new Command('backup').description(
    'encrypted backups of the store (SQLite online backup or pg_dump), restorable on a new machine',
  );
  backup
    .command('create')
    .description('write a consistent, encrypted snapshot of the store (the server may keep running)')
    .option('-c, --config <file>', 'configuration file (YAML)')
    .option('-o, --out <file>', 'where to write the backup (default: palisade-<time>.pbak in the current directory)')
    .action(async (opts: { config?: string; out?: string }) => {
      const config = loadOrExit(opts.config);
      const out = resolve(
        opts.out ?? `palisade-${new Date().toISOString().replaceAll(':', '-').replace(/\..*/, '')}.pbak`,
      );
      try {
        const r = await createBackup(config, process.env, out, say);
        process.stdout.write(`${r.path}\n`);
        say(`backup written: ${r.bytes} bytes, ${r.dialect} store, key wrapped by KEK v${r.kekVersion}.`);
        say('Keep it apart from the master secret (local KMS) or the HSM: the backup alone opens nothing.');
      } catch (e) {
        fail(`backup failed: ${(e as Error).message}`);
      }
    });
  backup
    .command('restore')
    .description('put a backup back as the store (stop the server first); a restored server reads everything')
    .argument('<file>', 'the backup file')
    .option('-c, --config <file>', 'configuration file (YAML) of the server to restore into')
    .option(
      '--force',
      'replace an existing store and keyring (only after the whole backup checks out; the old ones are kept aside)',
    )
    .action(async (file: string, opts: { config?: string; force?: boolean }) => {
      const config = loadOrExit(opts.config);
      if (await serverRunning(adminSocketPath(config)))
        fail('the server is running on this data directory: stop it first, then restore.');
      try {
        const r = await restoreBackup(config, process.env, resolve(file), opts.force === true, say);
        say(`restored the ${r.dialect} store from the backup of ${r.createdAt}.`);
        if (r.keptStore) say(`the store it replaced is kept as ${r.keptStore}`);
        if (r.keptKeyring)
          say(
            `the keyring it replaced is kept as ${r.keptKeyring} (it opens only the replaced store and older backups)`,
          );
        if (r.keptStore || r.keptKeyring) say('Delete them once the restored server works, if you do not need them.');
        say('Start the server with `npx palisade serve`.');
      } catch (e) {
        fail(`restore failed: ${(e as Error).message}`);
      }
    });
  return backup;
}
