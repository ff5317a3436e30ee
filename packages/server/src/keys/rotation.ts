import type { Clock, Logger } from '../core/index.js';
import { randomId, type Kms } from '../crypto/index.js';
import type { Db } from '../store/index.js';
import type { EnvelopeSealer } from './key-service.js';
import { resealAll, type ResealReport } from './reseal.js';

const DAY = 86_400_000;

/** When KEKs rotate: every `rotateEveryDays`; automatically, or only with a warning when overdue. */
export interface RotationPolicy {
  rotateEveryDays: number;
  autoRotate: boolean;
  /** Message payloads are sealed (`keys.sealMessages`): `--reencrypt` then also seals ones stored clear. */
  sealPayloads?: boolean;
}

/** What `palisade keys rotate` reports. */
export interface RotationReport {
  version: number;
  rewrapped: number;
  reencrypt?: ResealReport;
}

/**
 * KEK rotation and data-key re-encryption, online. Rotation adds a KEK version and rewraps every data
 * key; re-encryption retires every data key and reseals each value under its scope's new key. Both
 * are resumable: `resume()` at start finishes a rewrap or a re-encryption a crash interrupted.
 */
/** The audit actions of key operations. */
export type KeyOperationAction = 'keys.kek_rotated' | 'keys.reencrypted' | 'keys.kek_destroyed';

export class KeyRotation {
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<unknown> = Promise.resolve();
  private stopping = false;
  /** The re-encryption under way, for status and progress output. */
  private running: { job: string; field: string; scanned: number } | undefined;

  constructor(
    private readonly db: Db,
    private readonly sealer: EnvelopeSealer,
    private readonly kms: Kms,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly policy: RotationPolicy,
    /**
     * Hears every key operation once it is done, to audit it (keys sits below audit in the domain
     * order, so the composition root passes the writer). SECURITY: details hold versions and counts,
     * never key material.
     */
    private readonly onKeyOperation: (
      action: KeyOperationAction,
      details: Record<string, unknown>,
    ) => Promise<void> = () => Promise.resolve(),
  ) {}

  /** Tells the audit hook, logging (never throwing) when it fails: the key operation itself is done. */
  private async told(action: KeyOperationAction, details: Record<string, unknown>): Promise<void> {
    try {
      await this.onKeyOperation(action, details);
    } catch (e) {
      this.log.error({ err: e, action }, 'auditing a key operation failed');
    }
  }

  /** Runs key jobs one at a time (a rotation asked for during another waits for it). */
  private serial<T>(job: () => Promise<T>): Promise<T> {
    const next = this.busy.then(job, job);
    this.busy = next.catch(() => undefined);
    return next;
  }

  /** New KEK version, every data key rewrapped; with `reencrypt`, every value moved to a new data key. */
  rotate(opts: { reencrypt?: boolean } = {}): Promise<RotationReport> {
    return this.serial(async () => {
      const rotated = await this.rotateKek();
      if (!opts.reencrypt) return rotated;
      return { ...rotated, reencrypt: await this.finishReencrypt(await this.beginReencrypt()) };
    });
  }

  private async rotateKek(): Promise<{ version: number; rewrapped: number }> {
    const version = await this.kms.rotate();
    const rewrapped = await this.sealer.rewrapAll();
    this.log.info({ version, rewrapped }, 'key-encryption key rotated');
    await this.told('keys.kek_rotated', { version, rewrapped });
    return { version, rewrapped };
  }

  /**
   * For the admin socket: rotates the KEK and retires the data keys now, then reseals every value in
   * the background (the request returns at once; `status().running` shows progress).
   */
  startReencrypt(): Promise<{ version: number; rewrapped: number; job: string }> {
    const started = this.serial(async () => ({ ...(await this.rotateKek()), job: await this.beginReencrypt() }));
    void started
      .then(({ job }) => this.serial(() => this.finishReencrypt(job)))
      .catch((e: unknown) => this.log.error({ err: e }, 're-encryption failed; it resumes at the next start'));
    return started;
  }

  /** Journals the job, then retires the data keys (a crash after either is finished by `resume`). */
  private async beginReencrypt(): Promise<string> {
    const job = await this.openJob('reencrypt');
    await this.sealer.retireActiveKeys();
    return job;
  }

  private async openJob(kind: 'reencrypt' | 'legacy-seal'): Promise<string> {
    const id = randomId();
    await this.db
      .insertInto('key_jobs')
      .values({ id, kind, started_at: this.clock.now(), finished_at: null, report: null })
      .execute();
    return id;
  }

  private async closeJob(id: string, report: ResealReport): Promise<void> {
    await this.db
      .updateTable('key_jobs')
      .set({ finished_at: this.clock.now(), report: JSON.stringify(report) })
      .where('id', '=', id)
      .execute();
  }

  private async finishReencrypt(job: string): Promise<ResealReport> {
    this.running = { job, field: '', scanned: 0 };
    try {
      const report = await resealAll(this.db, this.sealer, {
        retired: await this.sealer.retiredKeyIds(),
        legacy: true,
        sealPayloads: this.policy.sealPayloads === true,
        shouldStop: () => this.stopping,
        onProgress: (field, scanned) => (this.running = { job, field, scanned }),
      });
      // Stopped by a shutdown: the job stays open and the next start finishes it.
      if (!report.complete) return report;
      await this.closeJob(job, report);
      this.log.info({ ...report }, 'data keys re-encrypted');
      await this.told('keys.reencrypted', { job, ...report });
      return report;
    } finally {
      this.running = undefined;
    }
  }

  /**
   * Start-up, before serving: seals clear values left from before their column was sealed (all but
   * message payloads, which only `--reencrypt` touches), so every read finds a sealed value.
   */
  sealLegacy(): Promise<ResealReport | undefined> {
    return this.serial(async () => {
      // Needed once, after the upgrade that sealed these columns; journalled so later starts skip it.
      const done = await this.db
        .selectFrom('key_jobs')
        .select('id')
        .where('kind', '=', 'legacy-seal')
        .where('finished_at', 'is not', null)
        .executeTakeFirst();
      if (done) return undefined;
      const job = await this.openJob('legacy-seal');
      const legacy = await resealAll(this.db, this.sealer, { retired: new Set(), legacy: true, skipMessages: true });
      await this.closeJob(job, legacy);
      if (legacy.sealedLegacy > 0)
        this.log.info({ sealed: legacy.sealedLegacy }, 'sealed values stored before their column was sealed');
      return legacy;
    });
  }

  /**
   * Start-up, in the background while serving: finishes a rewrap or a re-encryption that a crash
   * interrupted (old KEK versions and retired data keys stay usable meanwhile, so reads never wait).
   */
  resume(): Promise<{ rewrapped: number; reencrypt?: ResealReport }> {
    return this.serial(async () => {
      const rewrapped = await this.sealer.rewrapAll();
      if (rewrapped > 0) this.log.info({ rewrapped }, 'finished an interrupted key rotation');
      const open = await this.db
        .selectFrom('key_jobs')
        .select('id')
        .where('kind', '=', 'reencrypt')
        .where('finished_at', 'is', null)
        .execute();
      let reencrypt: ResealReport | undefined;
      for (const j of open) reencrypt = await this.finishReencrypt(j.id);
      return { rewrapped, ...(reencrypt ? { reencrypt } : {}) };
    });
  }

  /**
   * Destroys KEK versions replaced more than `replacedDaysAgo` days ago that no live data key uses
   * (rotate first). Backups whose keys they wrapped can then no longer be opened: with the PKCS#11
   * KMS this is how a deletion reaches old backups. (A local-KMS backup carries its own keyring.)
   */
  prune(replacedDaysAgo: number): Promise<number[]> {
    return this.serial(async () => {
      const versions = await this.kms.versions();
      const current = await this.kms.currentVersion();
      const used = new Set(
        (await this.db.selectFrom('data_keys').select('kek_version').where('destroyed_at', 'is', null).execute()).map(
          (r) => Number(r.kek_version),
        ),
      );
      const destroyed: number[] = [];
      for (const [i, v] of versions.entries()) {
        const replacedAt = versions[i + 1]?.createdAt;
        if (v.version === current || replacedAt === undefined || used.has(v.version)) continue;
        if (this.clock.now() - replacedAt < replacedDaysAgo * DAY) continue;
        await this.kms.destroyVersion(v.version);
        destroyed.push(v.version);
      }
      if (destroyed.length > 0) {
        this.log.info({ destroyed }, 'old key-encryption key versions destroyed');
        await this.told('keys.kek_destroyed', { versions: destroyed });
      }
      return destroyed;
    });
  }

  /** When the current KEK is due for rotation, and whether it is overdue. */
  async schedule(): Promise<{ nextRotationAt: number; overdue: boolean }> {
    const versions = await this.kms.versions();
    const currentVersion = await this.kms.currentVersion();
    const current = versions.find((v) => v.version === currentVersion) ?? versions[versions.length - 1]!;
    const nextRotationAt = current.createdAt + this.policy.rotateEveryDays * DAY;
    return { nextRotationAt, overdue: this.clock.now() >= nextRotationAt };
  }

  /** Rotates when overdue (autoRotate) or warns. Returns the report when it rotated. */
  async checkSchedule(): Promise<RotationReport | undefined> {
    const s = await this.schedule();
    if (!s.overdue) return undefined;
    if (!this.policy.autoRotate) {
      this.log.warn(
        { dueSince: new Date(s.nextRotationAt).toISOString() },
        'key-encryption key rotation is overdue: run `npx palisade keys rotate`',
      );
      return undefined;
    }
    return this.rotate();
  }

  /** Checks the schedule now and then every `everyMs` (default hourly). */
  start(everyMs = 3_600_000): void {
    const tick = () =>
      void this.checkSchedule().catch((e: unknown) => this.log.error({ err: e }, 'scheduled key rotation failed'));
    tick();
    this.timer = setInterval(tick, everyMs);
    this.timer.unref();
  }

  /** Stops the schedule; a running re-encryption stops at its next page and resumes at the next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.busy;
  }

  /** Everything `palisade keys status` shows. */
  async status() {
    const base = await this.sealer.status();
    const now = this.clock.now();
    const s = await this.schedule();
    const retired = await this.sealer.retiredKeyIds();
    const last = await this.db
      .selectFrom('key_jobs')
      .selectAll()
      .where('kind', '=', 'reencrypt')
      .orderBy('started_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return {
      ...base,
      kekVersions: base.kekVersions.map((v) => ({ ...v, ageDays: Math.floor((now - v.createdAt) / DAY) })),
      retiredDataKeys: retired.size,
      pendingRewrap: Object.entries(base.dataKeysPerVersion)
        .filter(([v]) => Number(v) < base.currentVersion)
        .reduce((n, [, c]) => n + c, 0),
      policy: this.policy,
      nextRotationAt: s.nextRotationAt,
      overdue: s.overdue,
      running: this.running ?? null,
      lastReencrypt: last
        ? {
            id: last.id,
            startedAt: last.started_at,
            finishedAt: last.finished_at,
            report: last.report ? (JSON.parse(last.report) as ResealReport) : null,
          }
        : null,
    };
  }
}
