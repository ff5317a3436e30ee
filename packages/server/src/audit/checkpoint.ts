import { appendFile, readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import type { Clock, Logger, Timers } from '../core/index.js';
import type { Sealer } from '../crypto/index.js';
import type { Executor } from '../store/index.js';
import { checkpointMessage, lockHead, readyInTx } from './chain.js';

/** A signed statement that the chain had `hash` at position `seq` at time `at`. */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  at: number;
  keyId: string;
  /** Raw 32-byte Ed25519 public key, base64url (so an exported line verifies on its own). */
  publicKey: string;
  /** Ed25519 over `checkpointMessage(seq, hash, at)`, base64url. */
  signature: string;
}

/**
 * Signs and stores a checkpoint of the current head, unless the head is already checkpointed or the
 * chain is empty. Runs in its own transaction with the head locked (or in the caller's).
 */
export async function writeCheckpoint(db: Executor, sealer: Sealer, now: number): Promise<AuditCheckpoint | undefined> {
  const run = async (tx: Executor): Promise<AuditCheckpoint | undefined> => {
    await lockHead(tx);
    const key = await readyInTx(tx, sealer, now);
    const head = await lockHead(tx);
    if (head.seq === 0) return undefined;
    const last = await tx.selectFrom('audit_checkpoints').select('seq').orderBy('seq', 'desc').executeTakeFirst();
    if (last && Number(last.seq) >= head.seq) return undefined;
    const signature = Buffer.from(key.signer.sign(checkpointMessage(head.seq, head.hash, now))).toString('base64url');
    await tx
      .insertInto('audit_checkpoints')
      .values({ seq: head.seq, hash: head.hash, at: now, key_id: key.keyId, signature })
      .execute();
    return {
      seq: head.seq,
      hash: head.hash,
      at: now,
      keyId: key.keyId,
      publicKey: Buffer.from(key.signer.publicKey).toString('base64url'),
      signature,
    };
  };
  return db.isTransaction ? run(db) : db.transaction().execute(run);
}

/**
 * A sink that appends each checkpoint as one JSON line to `file`.
 * SECURITY: refuses a file inside the data directory: the export is worth something only where
 * whoever can rewrite the database cannot rewrite it too.
 */
export function checkpointFileSink(file: string, dataDir: string): (cp: AuditCheckpoint) => Promise<void> {
  const rel = relative(resolve(dataDir), resolve(file));
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel)))
    throw new Error(`audit.checkpointFile must lie outside the data directory (${file})`);
  return (cp) => appendFile(file, `${JSON.stringify(cp)}\n`, { mode: 0o600 });
}

/**
 * The checkpoints exported to `file` (JSON lines written by `checkpointFileSink`), for
 * `verifyAuditChain({ exported })`. A missing file is none; a line that is not a checkpoint is an
 * error naming its line (the file is evidence: it must not be read loosely).
 */
export async function readExportedCheckpoints(file: string): Promise<{ seq: number; hash: string }[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: { seq: number; hash: string }[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new Error(`${file}:${i + 1} is not a JSON checkpoint line`);
    }
    const c = v as { seq?: unknown; hash?: unknown };
    if (
      typeof c.seq !== 'number' ||
      !Number.isSafeInteger(c.seq) ||
      typeof c.hash !== 'string' ||
      !/^[0-9a-f]{64}$/.test(c.hash)
    )
      throw new Error(`${file}:${i + 1} is not a checkpoint (seq and a hex hash)`);
    out.push({ seq: c.seq, hash: c.hash });
  }
  return out;
}

/** Options of the checkpointer. */
export interface CheckpointerOptions {
  /** A checkpoint once this many records were added since the last one (default 1000). */
  everyRecords?: number;
  /** A checkpoint at least this often while records are added (default 300,000 ms). */
  everyMs?: number;
  /** How often the head is looked at (default 1,000 ms, one indexed read). */
  pollMs?: number;
  /** Called after each checkpoint commits (file export, syslog). Errors are logged, never thrown. */
  onCheckpoint?: (cp: AuditCheckpoint) => void | Promise<void>;
}

/** Signs checkpoints every N records or T ms, off the write path (its own transactions, on a timer). */
export class AuditCheckpointer {
  private stopTimer: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private lastSeq = 0;
  private lastAt: number;
  private readonly everyRecords: number;
  private readonly everyMs: number;

  constructor(
    private readonly db: Executor,
    private readonly sealer: Sealer,
    private readonly clock: Clock,
    private readonly timers: Timers,
    private readonly log: Logger,
    private readonly opts: CheckpointerOptions = {},
  ) {
    this.everyRecords = opts.everyRecords ?? 1000;
    this.everyMs = opts.everyMs ?? 300_000;
    this.lastAt = clock.now();
  }

  /** Starts polling. */
  async start(): Promise<void> {
    const last = await this.db.selectFrom('audit_checkpoints').select('seq').orderBy('seq', 'desc').executeTakeFirst();
    this.lastSeq = Number(last?.seq ?? 0);
    this.stopTimer = this.timers.setInterval(() => void this.tick(), this.opts.pollMs ?? 1000);
  }

  /** Stops polling and waits for a checkpoint in progress. */
  async stop(): Promise<void> {
    this.stopTimer?.();
    this.stopTimer = undefined;
    await this.running;
  }

  /** Looks at the head once; writes a checkpoint when due. Resolves when done (tests call it). */
  tick(): Promise<void> {
    this.running ??= this.check().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Writes a checkpoint now if the head moved since the last one. */
  async checkpointNow(): Promise<AuditCheckpoint | undefined> {
    const cp = await writeCheckpoint(this.db, this.sealer, this.clock.now());
    this.lastAt = this.clock.now();
    if (!cp) return undefined;
    this.lastSeq = cp.seq;
    try {
      await this.opts.onCheckpoint?.(cp);
    } catch (err) {
      this.log.error({ err, seq: cp.seq }, 'could not export an audit checkpoint');
    }
    return cp;
  }

  private async check(): Promise<void> {
    try {
      const head = await this.db.selectFrom('audit_chain_head').select('seq').where('id', '=', 1).executeTakeFirst();
      const seq = Number(head?.seq ?? 0);
      if (seq <= this.lastSeq) return;
      if (seq - this.lastSeq >= this.everyRecords || this.clock.now() - this.lastAt >= this.everyMs)
        await this.checkpointNow();
    } catch (err) {
      this.log.error({ err }, 'audit checkpoint failed');
    }
  }
}
