import { recordAudit } from '../../audit/index.js';
import { assertRecentStrongAuth, publishRevoked, type AuthDeps } from '../../auth/index.js';
import type { ResponseConfig } from '../../config/index.js';
import { AppError, isAppError, type Clock, type Logger, type Principal, type Timers } from '../../core/index.js';
import { randomId, type Sealer } from '../../crypto/index.js';
import type { AddressBlocks } from '../../limits/index.js';
import { assertAccount } from '../../rbac/index.js';
import type { Db, Tx } from '../../store/index.js';
import type { Containment, Finding, Playbook, ResponseStep } from '../types.js';
import { applyAction, liftAction, type AfterCommit } from './actions.js';
import { asRow, toContainment, type Row } from './rows.js';
import { openSubject, prepareResponseScopes, storedSubject } from './sealed.js';
import { resolvePlaybooks, stepsFor } from './playbooks.js';
import { targetsOf, type Target } from './targets.js';

/** What the responder needs, passed in by the composition root. */
export interface ResponderDeps {
  auth: AuthDeps;
  db: Db;
  sealer: Sealer;
  clock: Clock;
  log: Logger;
  config: ResponseConfig;
  blocks: AddressBlocks;
  /** The expiry timer's scheduler (default: none, `start()` only sweeps once; pass systemTimers or a FakeClock). */
  timers?: Timers;
}

/** Filter of `list`. */
export interface ContainmentFilter {
  state?: Containment['state'];
  drill?: string;
  findingId?: string;
  /** Created at or after (UTC ms). */
  since?: number;
}

/**
 * Runs playbooks on findings: each step becomes a containment row, applied at once (its change, the row
 * and its `containment.applied` record in one transaction) or held for a security admin's approval.
 * Everything it does can be undone by a holder of `policy.manage`; what has an end expires on a timer.
 */
export class Responder {
  private readonly playbooks: Map<string, Playbook>;
  private stopTimer: (() => void) | undefined;
  private readonly inflight = new Map<string, Promise<Containment[]>>();

  constructor(private readonly deps: ResponderDeps) {
    this.playbooks = resolvePlaybooks(deps.config);
  }

  /** Applies the finding's playbook; idempotent per finding (a finding seen again returns its containments). */
  async respond(finding: Finding): Promise<Containment[]> {
    if (!this.deps.config.enabled) return [];
    // The same finding handed in twice at once runs once (this node); the stored rows answer later calls.
    const running = this.inflight.get(finding.id);
    if (running) return running;
    const p = this.respondOnce(finding).finally(() => this.inflight.delete(finding.id));
    this.inflight.set(finding.id, p);
    return p;
  }

  private async respondOnce(finding: Finding): Promise<Containment[]> {
    const { db } = this.deps;
    const seen = await db.selectFrom('containments').selectAll().where('finding_id', '=', finding.id).execute();
    if (seen.length > 0) return Promise.all(seen.map((r) => toContainment(this.deps.sealer, r)));
    const out: Containment[] = [];
    for (const step of stepsFor(this.playbooks, finding))
      for (const target of await targetsOf(db, step.action, finding))
        out.push(await this.runStep(finding, step, target));
    return out;
  }

  private async runStep(finding: Finding, step: ResponseStep, target: Target): Promise<Containment> {
    const { db, sealer, clock, config } = this.deps;
    const now = clock.now();
    const forMs = step.forSeconds === undefined ? null : step.forSeconds * 1000;
    await prepareResponseScopes(sealer);
    const id = randomId();
    const base = {
      id,
      ...(await storedSubject(sealer, id, target)),
      finding_id: finding.id,
      rule_id: finding.ruleId,
      action: step.action,
      subject_kind: target.kind,
      for_ms: forMs,
      created_at: now,
      approved_by: null,
      undone_at: null,
      undone_by: null,
      drill: finding.drill ?? null,
      note: null,
    };
    const facts = { findingId: finding.id, ruleId: finding.ruleId, action: step.action, subject: target };
    const audit = (
      tx: Tx,
      action: string,
      extra: Record<string, unknown> = {},
      outcome: 'success' | 'failure' = 'success',
    ) =>
      recordAudit(tx, sealer, {
        at: now,
        actorId: null,
        action,
        target: base.id,
        outcome,
        details: { ...facts, ...extra, ...(finding.drill ? { drill: finding.drill } : {}) },
      });
    if (config.dryRun) {
      await db.transaction().execute(async (tx) => {
        const row = { ...base, state: 'undone' as const, applied_at: null, expires_at: null };
        await tx
          .insertInto('containments')
          .values({ ...row, undone_at: now, undone_by: 'dry_run' })
          .execute();
        await audit(tx, 'containment.dry_run');
      });
      return this.get(base.id);
    }
    if (step.requiresApproval) {
      await db.transaction().execute(async (tx) => {
        await tx
          .insertInto('containments')
          .values({ ...base, state: 'pending_approval', applied_at: null, expires_at: null })
          .execute();
        await audit(tx, 'containment.pending_approval');
      });
      return this.get(base.id);
    }
    const expiresAt = forMs === null ? null : now + forMs;
    try {
      const after = await db.transaction().execute(async (tx) => {
        await tx
          .insertInto('containments')
          .values({ ...base, state: 'active', applied_at: now, expires_at: expiresAt })
          .execute();
        const a = await applyAction(
          tx,
          this.deps.auth,
          { ...base, subject: target.id, expires_at: expiresAt },
          now,
          config.neverBlock,
        );
        await tx
          .updateTable('containments')
          .set({ note: JSON.stringify(a.note) })
          .where('id', '=', base.id)
          .execute();
        await audit(tx, 'containment.applied', { expiresAt, ...a.note });
        return a;
      });
      await this.afterCommit(after);
    } catch (e) {
      // SECURITY: a step that cannot run is recorded (and audited) as failed, and never half-applied.
      const reason = isAppError(e) ? e.code : 'internal';
      if (!isAppError(e)) this.deps.log.error({ err: e, containment: base.id }, 'containment failed');
      await db.transaction().execute(async (tx) => {
        await tx
          .insertInto('containments')
          .values({ ...base, state: 'failed', applied_at: null, expires_at: null, note: JSON.stringify({ reason }) })
          .execute();
        await audit(tx, 'containment.failed', { reason }, 'failure');
      });
    }
    return this.get(base.id);
  }

  /**
   * Runs a step held for approval. SECURITY: needs `policy.manage` and a recent step-up, and the
   * approver may not be the containment's own subject.
   */
  async approve(id: string, actor: Principal): Promise<Containment> {
    const r = await this.authorize(id, actor);
    await prepareResponseScopes(this.deps.sealer);
    const row = await asRow(this.deps.sealer, r);
    const now = this.deps.clock.now();
    const expiresAt = r.for_ms === null ? null : now + Number(r.for_ms);
    const after = await this.deps.db.transaction().execute(async (tx) => {
      const u = await tx
        .updateTable('containments')
        .set({ state: 'active', applied_at: now, expires_at: expiresAt, approved_by: actor.userId })
        .where('id', '=', id)
        .where('state', '=', 'pending_approval')
        .executeTakeFirst();
      if (Number(u.numUpdatedRows) !== 1) throw new AppError('already_decided');
      const a = await applyAction(
        tx,
        this.deps.auth,
        { ...row, expires_at: expiresAt },
        now,
        this.deps.config.neverBlock,
      );
      await this.auditChange(tx, 'containment.approved', r, row.subject, actor.userId, now, { expiresAt, ...a.note });
      return a;
    });
    await this.afterCommit(after);
    return this.get(id);
  }

  /** Undoes an active containment, or turns down one pending approval. Same rules as `approve`. */
  async undo(id: string, actor: Principal): Promise<Containment> {
    const r = await this.authorize(id, actor);
    await this.lift(r, 'undone', actor.userId);
    return this.get(id);
  }

  /** Undoes every active or pending containment of a drill; returns how many. */
  async undoDrill(drillId: string, actor: Principal): Promise<number> {
    const rows = await this.deps.db
      .selectFrom('containments')
      .select('id')
      .where('drill', '=', drillId)
      .where('state', 'in', ['active', 'pending_approval'])
      .execute();
    for (const r of rows) await this.undo(r.id, actor);
    return rows.length;
  }

  /** Expires every active containment whose end has passed; returns how many. */
  async expireDue(): Promise<number> {
    const now = this.deps.clock.now();
    const due = await this.deps.db
      .selectFrom('containments')
      .selectAll()
      .where('state', '=', 'active')
      .where('expires_at', 'is not', null)
      .where('expires_at', '<=', now)
      .execute();
    let n = 0;
    for (const r of due) if (await this.lift(r, 'expired', null)) n++;
    return n;
  }

  /** Containments, newest first. */
  async list(filter: ContainmentFilter = {}): Promise<Containment[]> {
    let q = this.deps.db.selectFrom('containments').selectAll().orderBy('created_at', 'desc').orderBy('id');
    if (filter.state !== undefined) q = q.where('state', '=', filter.state);
    if (filter.drill !== undefined) q = q.where('drill', '=', filter.drill);
    if (filter.findingId !== undefined) q = q.where('finding_id', '=', filter.findingId);
    if (filter.since !== undefined) q = q.where('created_at', '>=', filter.since);
    return Promise.all((await q.limit(1000).execute()).map((r) => toContainment(this.deps.sealer, r)));
  }

  /**
   * Loads the blocks, re-arms the throttles in force (they live in memory) and starts the expiry sweep
   * (every `expirySweepSeconds`) and the blocks' refresh timer.
   */
  async start(): Promise<void> {
    const { db, clock, auth, timers, config, blocks } = this.deps;
    const now = clock.now();
    const throttles = await db
      .selectFrom('containments')
      .select(['id', 'subject_id', 'subject_sealed', 'expires_at'])
      .where('action', '=', 'throttle')
      .where('state', '=', 'active')
      .execute();
    for (const t of throttles)
      if (t.expires_at === null || Number(t.expires_at) > now)
        auth.limiter.penalise(
          await openSubject(this.deps.sealer, t),
          t.expires_at === null ? Number.POSITIVE_INFINITY : Number(t.expires_at) - now,
        );
    await blocks.start();
    await this.expireDue();
    if (timers && !this.stopTimer)
      this.stopTimer = timers.setInterval(() => {
        this.expireDue().catch((e: unknown) => this.deps.log.warn({ err: e }, 'containment expiry failed'));
      }, config.expirySweepSeconds * 1000);
  }

  /** Stops the timers. */
  stop(): void {
    this.stopTimer?.();
    this.stopTimer = undefined;
    this.deps.blocks.stop();
  }

  private async get(id: string): Promise<Containment> {
    return toContainment(
      this.deps.sealer,
      await this.deps.db.selectFrom('containments').selectAll().where('id', '=', id).executeTakeFirstOrThrow(),
    );
  }

  private async authorize(id: string, actor: Principal): Promise<Row> {
    assertAccount(actor, 'policy.manage');
    assertRecentStrongAuth(this.deps.auth, actor);
    const r = await this.deps.db.selectFrom('containments').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw new AppError('not_found', 'no such containment');
    // SECURITY: nobody decides on a containment of their own account.
    if (r.subject_id === actor.userId)
      throw new AppError('forbidden', 'you cannot decide on a containment of your own account');
    return r;
  }

  /** Ends a containment (undone by a person, or expired); false when it had ended already. */
  private async lift(r: Row, state: 'undone' | 'expired', actorId: string | null): Promise<boolean> {
    const now = this.deps.clock.now();
    const row = await asRow(this.deps.sealer, r);
    const after = await this.deps.db.transaction().execute(async (tx) => {
      const u = await tx
        .updateTable('containments')
        .set({ state, undone_at: now, undone_by: actorId ?? 'expiry' })
        .where('id', '=', r.id)
        .where('state', 'in', state === 'undone' ? ['active', 'pending_approval'] : ['active'])
        .executeTakeFirst();
      if (Number(u.numUpdatedRows) !== 1) {
        if (state === 'undone') throw new AppError('already_decided');
        return { lifted: false };
      }
      const a = r.state === 'active' ? await liftAction(tx, row, now) : undefined;
      await this.auditChange(
        tx,
        state === 'undone' ? 'containment.undone' : 'containment.expired',
        r,
        row.subject,
        actorId,
        now,
        {
          was: r.state,
          ...(a?.note ?? {}),
        },
      );
      return { lifted: true, a };
    });
    if (after.a) await this.afterCommit(after.a);
    return after.lifted;
  }

  private auditChange(
    tx: Tx,
    action: string,
    r: Row,
    subject: string,
    actorId: string | null,
    now: number,
    extra: Record<string, unknown>,
  ) {
    return recordAudit(tx, this.deps.sealer, {
      at: now,
      actorId,
      action,
      target: r.id,
      outcome: 'success',
      details: {
        findingId: r.finding_id,
        ruleId: r.rule_id,
        action: r.action,
        subject: { kind: r.subject_kind, id: subject },
        ...(r.drill !== null ? { drill: r.drill } : {}),
        ...extra,
      },
    });
  }

  private async afterCommit(a: AfterCommit): Promise<void> {
    for (const r of a.revoked) publishRevoked(this.deps.auth, r);
    const t = a.throttle;
    if (t && 'lift' in t) this.deps.auth.limiter.liftPenalty(t.lift);
    else if (t) this.deps.auth.limiter.penalise(t.subject, t.forMs);
    if (a.refreshBlocks) await this.deps.blocks.refresh();
  }
}
