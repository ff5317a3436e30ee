import { verifyEd25519, type Sealer } from '../crypto/index.js';
import type { Executor } from '../store/index.js';
import {
  checkpointMessage,
  GENESIS_HASH,
  openAuditKeys,
  openChainFields,
  recordHash,
  type ChainFields,
} from './chain.js';

/** What is wrong with the first bad record. */
export type AuditProblem = 'altered' | 'inserted' | 'missing' | 'reordered' | 'truncated' | 'bad_checkpoint';

/** The first bad place in the chain: its position (null for a record outside the chain) and row id. */
export interface AuditBad {
  seq: number | null;
  id: number | null;
  problem: AuditProblem;
  /** One line for humans. */
  detail: string;
}

/** The outcome of `verifyAuditChain`. */
export interface AuditVerifyResult {
  ok: boolean;
  /** Records walked. */
  records: number;
  /** Checkpoints whose signature and hash were checked. */
  checkpoints: number;
  head: { seq: number; hash: string };
  firstBad?: AuditBad;
}

/** Options of `verifyAuditChain`. */
export interface VerifyOptions {
  /** Rows per query (default 500). */
  batchSize?: number;
  /**
   * Checkpoints exported outside the server (the `audit.checkpointFile` lines): each must name the
   * hash the chain has at its position. SECURITY: they catch what the database alone cannot (a tail
   * cut with the head and checkpoints rewritten, a chain rebuilt and signed again).
   */
  exported?: readonly { seq: number; hash: string }[];
  /** Called after each batch with records walked and the head's seq. */
  onProgress?: (done: number, total: number) => void;
}

type Row = {
  id: number;
  uid: string | null;
  at: number;
  actor_id: string | null;
  action: string;
  target: string | null;
  address: string | null;
  outcome: string;
  details: string;
  chain_seq: number | null;
  prev_hash: string | null;
  hash: string | null;
  drill: string | null;
};

type Checkpoint = { seq: number; hash: string; at: number; key_id: string; signature: string };

/** A row's hash recomputed at `seq` from its stored prev_hash; undefined when its sealed fields do not open. */
async function fieldsOf(sealer: Sealer, r: Row): Promise<Omit<ChainFields, 'seq'> | undefined> {
  try {
    return await openChainFields(sealer, r);
  } catch {
    return undefined;
  }
}

/**
 * Walks the whole audit chain in seq order (batches, constant memory), recomputing each record's
 * hash, checking each link, every checkpoint's signature and hash, and the head. Returns the first bad
 * record and what is wrong with it. Reads only; never throws on tampered data.
 * SECURITY: truncation of the tail is found through the head row and the last checkpoint; a tail cut
 * after the last checkpoint with the head rewritten needs the exported checkpoints to be seen.
 */
export async function verifyAuditChain(
  db: Executor,
  sealer: Sealer,
  opts: VerifyOptions = {},
): Promise<AuditVerifyResult> {
  const batch = opts.batchSize ?? 500;
  // Checkpoints first, then the head: the head only grows, so a checkpoint past it shows a truncation.
  const cps = (await db.selectFrom('audit_checkpoints').selectAll().orderBy('seq').execute()).map((c): Checkpoint => ({
    ...c,
    seq: Number(c.seq),
    at: Number(c.at),
  }));
  const headRow = await db
    .selectFrom('audit_chain_head')
    .select(['seq', 'hash'])
    .where('id', '=', 1)
    .executeTakeFirst();
  const head = { seq: Number(headRow?.seq ?? 0), hash: headRow?.hash ?? GENESIS_HASH };
  let records = 0;
  let checkedCps = 0;
  const done = (firstBad?: AuditBad): AuditVerifyResult => ({
    ok: !firstBad,
    records,
    checkpoints: checkedCps,
    head,
    ...(firstBad ? { firstBad } : {}),
  });
  if (!headRow) return done({ seq: null, id: null, problem: 'truncated', detail: 'the chain head row is gone' });

  const outside = await db.selectFrom('audit_log').select('id').where('chain_seq', 'is', null).executeTakeFirst();
  if (outside)
    return done({ seq: null, id: Number(outside.id), problem: 'inserted', detail: 'a record outside the chain' });

  const { publicKeys, macKey } = await openAuditKeys(db, sealer);
  let cpAt = 0;
  const hashAt = (f: Omit<ChainFields, 'seq'>, prevHash: string, seq: number) =>
    macKey ? recordHash(prevHash, { ...f, seq }, macKey) : undefined;

  // A one-row lookahead over batches.
  let buf: Row[] = [];
  let lastFetched = 0;
  let exhausted = false;
  const fill = async () => {
    if (buf.length > 0 || exhausted) return;
    const rows = (await db
      .selectFrom('audit_log')
      .selectAll()
      .where('chain_seq', '>', lastFetched)
      .where('chain_seq', '<=', head.seq)
      .orderBy('chain_seq')
      .limit(batch)
      .execute()) as Row[];
    if (rows.length < batch) exhausted = true;
    const last = rows.at(-1);
    if (last) lastFetched = Number(last.chain_seq);
    buf = rows;
    opts.onProgress?.(records, head.seq);
  };
  const peek = async () => (await fill(), buf[0]);

  const exported = new Map((opts.exported ?? []).map((c) => [c.seq, c.hash]));
  const uids = new Set<string>();
  let expected = 1;
  let prev = GENESIS_HASH;
  let prevRow: Row | undefined;
  for (let r = await peek(); r; r = await peek()) {
    buf.shift();
    const seq = Number(r.chain_seq);
    const id = Number(r.id);
    const bad = (problem: AuditProblem, detail: string, at = seq, rowId: number | null = id) =>
      done({ seq: at, id: rowId, problem, detail });
    if (seq < expected) return bad('inserted', `a second record at position ${seq}`);
    if (seq > expected) return bad('missing', `records ${expected}..${seq - 1} are gone`, expected);
    const f = await fieldsOf(sealer, r);
    if (!f || !r.hash || !r.prev_hash) return bad('altered', 'its sealed fields do not open');
    const selfOk = hashAt(f, r.prev_hash, seq) === r.hash;
    const linkOk = r.prev_hash === prev;
    if (!(selfOk && linkOk)) {
      if (selfOk) {
        const p = prevRow;
        return p
          ? bad('altered', 'its hash was rewritten (the next record does not link to it)', seq - 1, Number(p.id))
          : bad('altered', 'the first record does not start from the genesis hash');
      }
      if (!linkOk && (await displaced(db, r, f, seq, head, hashAt)))
        return bad('reordered', 'a record from another position');
      const next = await peek();
      if (next && next.prev_hash === prev) return bad('inserted', 'the next record links past it');
      if (!linkOk && r.prev_hash !== GENESIS_HASH) {
        const linked = await db.selectFrom('audit_log').select('id').where('hash', '=', r.prev_hash).executeTakeFirst();
        const fitsLater = [1, 2, 3, 4, 5, 6, 7, 8].some((d) => hashAt(f, r.prev_hash as string, seq + d) === r.hash);
        if (!linked && fitsLater) return bad('missing', 'the record it links to is gone', expected);
      }
      return bad('altered', 'its hash does not match its fields');
    }
    // SECURITY (review): one uid, one record (a copy could borrow another record's sealed fields).
    if (r.uid !== null) {
      if (uids.has(r.uid)) return bad('inserted', 'a copy of another record (same uid)');
      uids.add(r.uid);
    }
    const outsideHash = exported.get(seq);
    if (outsideHash !== undefined && outsideHash !== r.hash)
      return bad('bad_checkpoint', 'an exported checkpoint names another hash at this position');
    // Checkpoints at this position: signed by an audit key, over this very hash.
    while (cps[cpAt] && (cps[cpAt] as Checkpoint).seq <= seq) {
      const cp = cps[cpAt++] as Checkpoint;
      const pub = publicKeys.get(cp.key_id);
      const sigOk =
        pub !== undefined &&
        verifyEd25519(pub, checkpointMessage(cp.seq, cp.hash, cp.at), Buffer.from(cp.signature, 'base64url'));
      if (!sigOk) return bad('bad_checkpoint', 'a checkpoint signature does not verify', cp.seq);
      if (cp.seq === seq && cp.hash !== r.hash)
        return bad('bad_checkpoint', 'the signed checkpoint names another hash');
      checkedCps++;
    }
    records++;
    prev = r.hash;
    prevRow = r;
    expected++;
  }
  const last = expected - 1;
  const furthest = Math.max(0, ...exported.keys());
  if (furthest > last)
    return done({
      seq: last + 1,
      id: null,
      problem: 'truncated',
      detail: `an exported checkpoint signs position ${furthest}`,
    });
  if (head.seq > last)
    return done({ seq: last + 1, id: null, problem: 'truncated', detail: `the head is at ${head.seq}` });
  if (head.hash !== prev)
    return done({
      seq: last,
      id: prevRow ? Number(prevRow.id) : null,
      problem: 'altered',
      detail: 'the head names another hash',
    });
  const beyond = cps[cpAt];
  if (beyond)
    return done({ seq: last + 1, id: null, problem: 'truncated', detail: `a checkpoint signs position ${beyond.seq}` });
  // A record past the head as it is now (the server may have added records while this ran).
  const now = await db.selectFrom('audit_chain_head').select('seq').where('id', '=', 1).executeTakeFirst();
  const past = await db
    .selectFrom('audit_log')
    .select(['id', 'chain_seq'])
    .where('chain_seq', '>', Math.max(head.seq, Number(now?.seq ?? 0)))
    .orderBy('chain_seq')
    .executeTakeFirst();
  if (past)
    return done({
      seq: Number(past.chain_seq),
      id: Number(past.id),
      problem: 'inserted',
      detail: 'a record past the head',
    });
  opts.onProgress?.(records, head.seq);
  return done();
}

/** True when `r` is a consistent record of another position (found through its successor or the head). */
async function displaced(
  db: Executor,
  r: Row,
  f: Omit<ChainFields, 'seq'>,
  seq: number,
  head: { seq: number; hash: string },
  hashAt: (f: Omit<ChainFields, 'seq'>, prevHash: string, seq: number) => string | undefined,
): Promise<boolean> {
  const hash = r.hash as string;
  const succ = await db.selectFrom('audit_log').select('chain_seq').where('prev_hash', '=', hash).executeTakeFirst();
  const at = succ?.chain_seq != null ? Number(succ.chain_seq) - 1 : head.hash === hash ? head.seq : undefined;
  return at !== undefined && at !== seq && hashAt(f, r.prev_hash as string, at) === hash;
}
