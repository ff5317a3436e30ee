import type { Sealer } from '../../crypto/index.js';
import { openColumn, sealInTable } from '../../keys/index.js';
import type { Db } from '../../store/index.js';
import { type BaselineState, newBaseline, parseBaseline } from './model.js';

/** The metric name of the activity model (one per subject). */
export const ACTIVITY = 'activity';
const TABLE = 'detect_baselines';
/** Models written per transaction. */
const SAVE_BATCH = 200;
const rowId = (subject: string, metric: string): string => `${subject}/${metric}`;

/**
 * The baselines of every subject, in memory, with the changed ones saved to detect_baselines.
 * SECURITY: the state names networks a user was seen from, so it is sealed (table scope).
 */
export class Baselines {
  private readonly models = new Map<string, BaselineState>();
  private readonly dirty = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
  ) {}

  /** The model of `subject` (`user:<id>` or `org`), created at `at` when new. */
  get(subject: string, at: number): BaselineState {
    let m = this.models.get(subject);
    if (!m) this.models.set(subject, (m = newBaseline(at, subject === 'org')));
    return m;
  }
  /** The model of `subject` if it exists. */
  peek(subject: string): BaselineState | undefined {
    return this.models.get(subject);
  }
  /** Marks a model changed (saved by the next `save`). */
  touch(subject: string): void {
    this.dirty.add(subject);
  }
  /** Subjects held. */
  get size(): number {
    return this.models.size;
  }

  /** Reads every stored model (unreadable ones are skipped and counted). */
  async load(): Promise<{ loaded: number; skipped: number }> {
    await this.sealer.prepare(`table:${TABLE}`);
    const rows = await this.db.selectFrom('detect_baselines').selectAll().where('metric', '=', ACTIVITY).execute();
    let skipped = 0;
    for (const r of rows) {
      let state: BaselineState | null = null;
      try {
        state = parseBaseline(await openColumn(this.sealer, TABLE, 'state', rowId(r.subject, r.metric), r.state));
      } catch {
        state = null; // altered, moved or shredded: that subject learns again
      }
      if (state) this.models.set(r.subject, state);
      else skipped++;
    }
    return { loaded: rows.length - skipped, skipped };
  }

  /** Writes the models changed since the last save (upserts, SAVE_BATCH to a transaction, so the writer is never held long). */
  async save(now: number): Promise<number> {
    if (this.dirty.size === 0) return 0;
    await this.sealer.prepare(`table:${TABLE}`);
    const subjects = [...this.dirty];
    this.dirty.clear();
    try {
      for (let i = 0; i < subjects.length; i += SAVE_BATCH) await this.write(subjects.slice(i, i + SAVE_BATCH), now);
    } catch (err) {
      for (const x of subjects) this.dirty.add(x); // saved next time
      throw err;
    }
    return subjects.length;
  }

  private async write(subjects: string[], now: number): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      for (const subject of subjects) {
        const m = this.models.get(subject);
        if (!m) continue;
        const state = sealInTable(this.sealer, TABLE, 'state', rowId(subject, ACTIVITY), JSON.stringify(m));
        await tx
          .insertInto('detect_baselines')
          .values({ subject, metric: ACTIVITY, state, updated_at: now })
          .onConflict((oc) => oc.columns(['subject', 'metric']).doUpdateSet({ state, updated_at: now }))
          .execute();
      }
    });
  }
}
