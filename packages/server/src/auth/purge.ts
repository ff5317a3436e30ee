import type { Executor } from '../store/index.js';
import { PENDING_ENROLMENT_TTL_MS } from './factor-changes.js';

/** How many rows one purge removed, per table. */
export interface PurgeReport {
  webauthnChallenges: number;
  loginChallenges: number;
  ssoLogins: number;
  pendingEnrolments: number;
}

/**
 * Deletes expired short-lived rows: WebAuthn challenges, MFA login challenges, SSO logins and TOTP
 * enrolments never confirmed. SECURITY (S20): unauthenticated endpoints write some of these rows;
 * with the rate limit, this bounds what an anonymous caller can make the server keep.
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
