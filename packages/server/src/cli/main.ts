#!/usr/bin/env node
import { Command } from 'commander';
import { adminCommands, keysCommand } from './admin.js';
import { auditCommands } from './audit.js';
import { backupCommands } from './backup.js';
import { configCommands } from './config-check.js';
import { drillCommand } from './drill.js';
import { securityCommands } from './security.js';
import { serveCommand } from './serve.js';

const program = new Command()
  .name('palisade')
  .description(
    'Palisade: a self-hosted, security-first messaging server.\nStart with `npx palisade serve` (from the repository, after `npm run build`); see docs/operations.md.',
  )
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)');
program.addCommand(serveCommand());
program.addCommand(configCommands());
program.addCommand(adminCommands());
program.addCommand(keysCommand());
program.addCommand(backupCommands());
program.addCommand(auditCommands());
program.addCommand(drillCommand());
program.addCommand(securityCommands());
await program.parseAsync(process.argv);
