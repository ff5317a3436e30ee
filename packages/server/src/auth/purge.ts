import type { Executor } from '../store/index.js';
import { PENDING_ENROLMENT_TTL_MS } from './factor-changes.js';

/** How many rows one purge removed, per table. */
export interface PurgeReport {
  webauthnChallenges: number;
  loginChallenges: number;
  ssoLogins: number;
  pendingEnrolments: number;
  /** Devices of expired device-bound service tokens, revoked (their MLS leaves become stale). */
  expiredBotDevices: number;
}

/**
 * Deletes expired short-lived rows: WebAuthn challenges, MFA login challenges, SSO logins and TOTP
 * enrolments never confirmed. SECURITY (S20): unauthenticated endpoints write some of these rows;
 * with the rate limit, this bounds what an anonymous caller can make the server keep.
 * Also revokes the device of every expired device-bound service token. SECURITY: a bot whose token
 * expired can no longer read, so members must stop encrypting to it: with its device revoked, the
 * next send removes its leaves (`roster_stale`). The token row (its `expires_at`) records why.
 */
export async function purgeExpired(db: Executor, now: number): Promise<PurgeReport> {
  const n = (r: { numDeletedRows: bigint }) => Number(r.numDeletedRows);
  return {
    webauthnChallenges: n(await db.deleteFrom('webauthn_challenges').where('expires_at', '<=', now).executeTakeFirst()),
    loginChallenges: n(await db.deleteFrom('login_challenges').where('expires_at', '<=', now).executeTakeFirst()),
    ssoLogins: n(await db.deleteFrom('sso_logins').where('expires_at', '<=', now).executeTakeFirst()),
    pendingEnrolments: n(
      await db
        .deleteFrom('authenticators')
        .where('confirmed_at', 'is', null)
        .where('created_at', '<=', now - PENDING_ENROLMENT_TTL_MS)
        .executeTakeFirst(),
    ),
    expiredBotDevices: Number(
      (
        await db
          .updateTable('devices')
          .set({ revoked_at: now })
          .where('revoked_at', 'is', null)
          .where('id', 'in', (eb) =>
            eb
              .selectFrom('service_tokens')
              .select('device_id')
              .where('device_id', 'is not', null)
              .where('expires_at', '<=', now)
              .$narrowType<{ device_id: string }>(),
          )
          .executeTakeFirst()
      ).numUpdatedRows,
    ),
  };
}

/** Runs `purgeExpired` every `everyMs` until stopped; errors are reported, never thrown. */
export class ExpiredRowSweeper {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Executor,
    private readonly now: () => number,
    private readonly onError: (e: unknown) => void,
    private readonly everyMs = 5 * 60_000,
  ) {}

  /** Purges once now, then periodically (the timer does not keep the process alive). */
  start(): void {
    if (this.timer) return;
    const run = () => void purgeExpired(this.db, this.now()).catch(this.onError);
    run();
    this.timer = setInterval(run, this.everyMs);
    this.timer.unref();
  }

  /** Stops it. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
