import { recordAudit } from '../../audit/index.js';
import { AppError, type Bus, type Clock, type Logger } from '../../core/index.js';
import { randomId, type Sealer } from '../../crypto/index.js';
import { scopeOf } from '../../keys/index.js';
import { isUniqueViolation, type Db, type Executor } from '../../store/index.js';
import type { Alert, Finding, Severity } from '../types.js';
import {
  ALERTS_SCOPE,
  boundedFinding,
  groupKeyOf,
  titleOf,
  maxSeverity,
  openAlertRow,
  sealAlertColumn,
  severityRank,
  toAlert,
  type AlertDetail,
  type AlertRow,
} from './model.js';

/** A channel as the Alerter sees it: its name and the least severity it is sent. */
export interface ChannelRoute {
  name: string;
  minSeverity: Severity;
}

/** What the Alerter needs. */
export interface AlerterDeps {
  db: Db;
  sealer: Sealer;
  bus: Bus;
  clock: Clock;
  log: Logger;
  /** The configured channels (config `alerts.channels`): a delivery is enqueued on each the alert meets. */
  channels: readonly ChannelRoute[];
  /** A repeat within this many minutes of the last notification sends nothing, unless severity rises. */
  groupWindowMinutes: number;
}

/** Filter of `Alerter.list`. */
export interface AlertFilter {
  state?: Alert['state'] | readonly Alert['state'][];
  /** Alerts whose latest finding is at or after this instant (UTC ms). */
  since?: number;
  /** A drill id: only that drill's alerts; `false`: only real ones; absent: both. */
  drill?: string | false;
  /** At most this many, newest first (default 100, at most 1000). */
  limit?: number;
}

const AUDIT_SCOPE = scopeOf.table('audit_log');
const NOT_RESOLVED = ['open', 'acknowledged'] as const;

/**
 * Turns findings into alerts: groups them by rule and subject while unresolved, stores them sealed,
 * enqueues their deliveries and the audit record in the same transaction, and announces them on the
 * bus (`alert.raised`) after commit. People acknowledge and resolve them; each step is audited.
 */
export class Alerter {
  constructor(private readonly deps: AlerterDeps) {}

  /**
   * Records a finding: a new alert, or a repeat joining the unresolved alert of its group (count and
   * lastAt grow, severity only rises). Deliveries go out for a new alert, for a repeat whose severity
   * rose above the last notified one, and for a repeat after the group window; otherwise none.
   */
  async raise(input: Finding): Promise<Alert> {
    const finding = boundedFinding(input);
    await this.deps.sealer.prepare(ALERTS_SCOPE);
    await this.deps.sealer.prepare(AUDIT_SCOPE);
    let result: { row: AlertRow; notified: boolean };
    try {
      result = await this.deps.db.transaction().execute((tx) => this.raiseIn(tx, finding));
    } catch (e) {
      // Two findings of a new group at once (PostgreSQL): the loser joins the winner's alert.
      if (!isUniqueViolation(e)) throw e;
      result = await this.deps.db.transaction().execute((tx) => this.raiseIn(tx, finding));
    }
    const { notified } = result;
    const alert = await openAlertRow(this.deps.sealer, result.row);
    if (notified) {
      this.deps.log.info(
        { alertId: alert.id, ruleId: alert.ruleId, severity: alert.severity, count: alert.count },
        'alert raised',
      );
      this.deps.bus.publish({
        type: 'alert.raised',
        data: {
          alertId: alert.id,
          ruleId: alert.ruleId,
          severity: alert.severity,
          title: alert.title,
          at: alert.lastAt,
          count: alert.count,
        },
      });
    }
    return toAlert(alert);
  }

  /** Marks an open alert acknowledged by `actor` (a user id); an acknowledged one is returned as is. */
  async acknowledge(id: string, actor: string): Promise<Alert> {
    await this.deps.sealer.prepare(AUDIT_SCOPE);
    const detail = await this.deps.db.transaction().execute(async (tx) => {
      const row = await this.row(tx, id);
      if (row.state === 'resolved') throw new AppError('already_decided', 'The alert is resolved already.');
      if (row.state === 'acknowledged') return row;
      const at = this.deps.clock.now();
      const r = await tx
        .updateTable('alerts')
        .set({ state: 'acknowledged', acknowledged_by: actor, acknowledged_at: at })
        .where('id', '=', id)
        .where('state', '=', 'open')
        .executeTakeFirst();
      // Someone else acknowledged or resolved it meanwhile: theirs stands.
      if (Number(r.numUpdatedRows) !== 1) throw new AppError('already_decided', 'The alert changed meanwhile.');
      await this.audit(tx, actor, 'alert.acknowledged', id, at, { ruleId: row.rule_id, severity: row.severity });
      return { ...row, state: 'acknowledged' as const, acknowledged_by: actor, acknowledged_at: at };
    });
    return toAlert(await openAlertRow(this.deps.sealer, detail));
  }

  /**
   * Marks an alert resolved by `actor`, with an optional note (sealed). A later finding of its group
   * opens a new alert. SECURITY: the note is stored sealed and audited by length only.
   */
  async resolve(id: string, actor: string, note?: string): Promise<Alert> {
    if (note !== undefined && note.length > 2000)
      throw new AppError('bad_request', 'A note is at most 2000 characters.');
    await this.deps.sealer.prepare(ALERTS_SCOPE);
    await this.deps.sealer.prepare(AUDIT_SCOPE);
    const detail = await this.deps.db.transaction().execute(async (tx) => {
      const row = await this.row(tx, id);
      if (row.state === 'resolved') throw new AppError('already_decided', 'The alert is resolved already.');
      const at = this.deps.clock.now();
      const sealedNote = note === undefined ? null : sealAlertColumn(this.deps.sealer, 'resolution_note', id, note);
      const r = await tx
        .updateTable('alerts')
        .set({ state: 'resolved', resolved_by: actor, resolved_at: at, resolution_note: sealedNote })
        .where('id', '=', id)
        .where('state', '<>', 'resolved')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw new AppError('already_decided', 'The alert is resolved already.');
      await this.audit(tx, actor, 'alert.resolved', id, at, {
        ruleId: row.rule_id,
        severity: row.severity,
        noteLength: note?.length ?? 0,
      });
      return { ...row, state: 'resolved' as const, resolved_by: actor, resolved_at: at, resolution_note: sealedNote };
    });
    return toAlert(await openAlertRow(this.deps.sealer, detail));
  }

  /** Alerts matching the filter, the most recent finding first. */
  async list(filter: AlertFilter = {}): Promise<Alert[]> {
    let q = this.deps.db.selectFrom('alerts').selectAll();
    if (filter.state !== undefined) {
      const states: readonly Alert['state'][] = typeof filter.state === 'string' ? [filter.state] : filter.state;
      if (states.length === 0) return [];
      q = q.where('state', 'in', states);
    }
    if (filter.since !== undefined) q = q.where('last_at', '>=', filter.since);
    if (filter.drill === false) q = q.where('drill', 'is', null);
    else if (filter.drill !== undefined) q = q.where('drill', '=', filter.drill);
    const limit = Math.min(Math.max(1, Math.floor(filter.limit ?? 100)), 1000);
    const rows = await q.orderBy('last_at', 'desc').orderBy('id').limit(limit).execute();
    return Promise.all(rows.map(async (r) => toAlert(await openAlertRow(this.deps.sealer, r))));
  }

  /** One alert with its subject, latest evidence and resolution note; undefined when there is none. */
  async get(id: string): Promise<AlertDetail | undefined> {
    const r = await this.deps.db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
    return r === undefined ? undefined : openAlertRow(this.deps.sealer, r);
  }

  private async row(exec: Executor, id: string): Promise<AlertRow> {
    const r = await exec.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw new AppError('not_found', 'No such alert.');
    return r;
  }

  private async raiseIn(tx: Executor, f: Finding): Promise<{ row: AlertRow; notified: boolean }> {
    const { sealer, clock } = this.deps;
    const now = clock.now();
    const groupKey = groupKeyOf(f);
    // Locks the group's unresolved alert first (a no-op update: a row lock on PostgreSQL, where the
    // next statement then reads what a concurrent raise committed; SQLite has one writer anyway), so
    // concurrent repeats never lose a count.
    await tx
      .updateTable('alerts')
      .set((eb) => ({ count: eb.ref('count') }))
      .where('group_key', '=', groupKey)
      .where('state', 'in', NOT_RESOLVED)
      .execute();
    const found = await tx
      .selectFrom('alerts')
      .selectAll()
      .where('group_key', '=', groupKey)
      .where('state', 'in', NOT_RESOLVED)
      .executeTakeFirst();
    const evidence = JSON.stringify(f.evidence);
    let row: AlertRow;
    let notified: boolean;
    if (!found) {
      const id = randomId();
      row = {
        id,
        group_key: groupKey,
        rule_id: f.ruleId,
        severity: f.severity,
        title: titleOf(f),
        subject_kind: f.subject.kind,
        subject_id: f.subject.id,
        explanation: sealAlertColumn(sealer, 'explanation', id, f.explanation),
        evidence: sealAlertColumn(sealer, 'evidence', id, evidence),
        state: 'open',
        first_at: Math.min(f.firstSeenAt, f.at),
        last_at: f.at,
        count: 1,
        acknowledged_by: null,
        acknowledged_at: null,
        resolved_by: null,
        resolved_at: null,
        resolution_note: null,
        drill: f.drill ?? null,
      };
      await tx
        .insertInto('alerts')
        .values({ ...row, notified_at: now, notified_severity: f.severity })
        .execute();
      notified = true;
    } else {
      const severity = maxSeverity(found.severity, f.severity);
      const rose = severityRank(f.severity) > severityRank(found.notified_severity);
      const windowOver = now - Number(found.notified_at) >= this.deps.groupWindowMinutes * 60_000;
      notified = rose || windowOver;
      row = {
        ...found,
        severity,
        title: titleOf({ ...f, severity }),
        explanation: sealAlertColumn(sealer, 'explanation', found.id, f.explanation),
        evidence: sealAlertColumn(sealer, 'evidence', found.id, evidence),
        first_at: Math.min(Number(found.first_at), f.firstSeenAt, f.at),
        last_at: Math.max(Number(found.last_at), f.at),
        count: Number(found.count) + 1,
      };
      await tx
        .updateTable('alerts')
        .set({
          severity: row.severity,
          title: row.title,
          explanation: row.explanation,
          evidence: row.evidence,
          first_at: row.first_at,
          last_at: row.last_at,
          count: row.count,
          ...(notified ? { notified_at: now, notified_severity: severity } : {}),
        })
        .where('id', '=', found.id)
        .execute();
    }
    if (notified) {
      const routes = this.deps.channels.filter((c) => severityRank(row.severity) >= severityRank(c.minSeverity));
      if (routes.length > 0)
        await tx
          .insertInto('alert_deliveries')
          .values(
            routes.map((c) => ({
              id: randomId(),
              alert_id: row.id,
              channel: c.name,
              state: 'pending' as const,
              attempts: 0,
              created_at: now,
              next_at: now,
              delivered_at: null,
              last_error: null,
            })),
          )
          .execute();
      await this.audit(tx, null, 'alert.raised', row.id, now, {
        ruleId: row.rule_id,
        severity: row.severity,
        count: row.count,
        findingId: f.id,
        channels: routes.map((c) => c.name),
        ...(f.drill !== undefined ? { drill: f.drill } : {}),
      });
    }
    return { row, notified };
  }

  private audit(
    tx: Executor,
    actorId: string | null,
    action: 'alert.raised' | 'alert.acknowledged' | 'alert.resolved',
    target: string,
    at: number,
    details: Record<string, unknown>,
  ): Promise<void> {
    return recordAudit(tx, this.deps.sealer, { at, actorId, action, target, outcome: 'success', details });
  }
}
