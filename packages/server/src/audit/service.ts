import type { Bus, Clock, Logger, Timers } from '../core/index.js';
import type { Sealer } from '../crypto/index.js';
import type { Db } from '../store/index.js';
import { prepareAuditChain } from './chain.js';
import { AuditCheckpointer, checkpointFileSink, type AuditCheckpoint } from './checkpoint.js';
import { AuditFeed } from './feed.js';

/** What the audit services need from the composition root. */
export interface AuditServiceDeps {
  db: Db;
  sealer: Sealer;
  bus: Bus;
  clock: Clock;
  timers: Timers;
  log: Logger;
}

/** Config `audit` plus the data directory and the hooks other modules add. */
export interface AuditServiceOptions {
  checkpointEveryRecords: number;
  checkpointEverySeconds: number;
  /** Config `audit.checkpointFile`: JSON lines, outside `dataDir`. */
  checkpointFile?: string;
  dataDir: string;
  /** Another export of each checkpoint (syslog); errors are logged. */
  onCheckpoint?: (cp: AuditCheckpoint) => void | Promise<void>;
  /** Where the feed starts (default: the head at start, so only new records are published). */
  feedFromSeq?: number;
  /** Feed poll interval (default 200 ms). */
  feedPollMs?: number;
}

/** The running audit services. */
export interface AuditServices {
  feed: AuditFeed;
  checkpointer: AuditCheckpointer;
  /** Stops both; a last checkpoint is taken if records were added since the previous one. */
  stop(): Promise<void>;
}

/**
 * At server start, after `sealer.prepareServerScopes()`: opens the audit key and chains records
 * written before migration 0021 (outside any transaction), then starts the checkpointer and the feed.
 */
export async function startAuditServices(deps: AuditServiceDeps, opts: AuditServiceOptions): Promise<AuditServices> {
  await prepareAuditChain(deps.db, deps.sealer, deps.clock.now());
  const file = opts.checkpointFile ? checkpointFileSink(opts.checkpointFile, opts.dataDir) : undefined;
  const checkpointer = new AuditCheckpointer(deps.db, deps.sealer, deps.clock, deps.timers, deps.log, {
    everyRecords: opts.checkpointEveryRecords,
    everyMs: opts.checkpointEverySeconds * 1000,
    onCheckpoint: async (cp) => {
      if (file) await file(cp);
      await opts.onCheckpoint?.(cp);
    },
  });
  await checkpointer.start();
  const feed = new AuditFeed(deps.db, deps.sealer, deps.bus, deps.timers, deps.log, { pollMs: opts.feedPollMs });
  await feed.start(opts.feedFromSeq);
  return {
    feed,
    checkpointer,
    async stop() {
      await feed.stop();
      await checkpointer.stop();
      await checkpointer
        .checkpointNow()
        .catch((err: unknown) => deps.log.error({ err }, 'last audit checkpoint failed'));
    },
  };
}
