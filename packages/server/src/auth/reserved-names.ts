import { AppError } from '../core/index.js';
import { randomId, randomToken } from '../crypto/index.js';
import type { Executor } from '../store/index.js';

/**
 * User-name prefixes only the server hands out: `bot.` (service accounts), `deleted.` (deleted
 * accounts) and `admin` (the first account, created with the operator's bootstrap token, may use it).
 */
const RESERVED = [
  { prefix: 'bot.', unlessBootstrap: false },
  { prefix: 'deleted.', unlessBootstrap: false },
  { prefix: 'admin', unlessBootstrap: true },
] as const;

/**
 * A cheap look-alike fold: digits and letters that pass for each other in most fonts (0/o, 1/l/i,
 * 3/e, 5/s) become one, and the separators `.`, `-` and `_` become `.`. So `de1eted.x`, `b0t_x` and
 * `adm1n` fold onto the reserved prefixes too. User names are ASCII (protocol Username), so no
 * Unicode confusables table is needed.
 */
function fold(name: string): string {
  return name
    .toLowerCase()
    .replace(/[0o]/g, 'o')
    .replace(/[1li|]/g, 'i')
    .replace(/3/g, 'e')
    .replace(/5/g, 's')
    .replace(/[-_.]/g, '.');
}

/** The reserved prefix a user name starts with (after folding look-alikes), if any. */
export function reservedPrefixOf(username: string, opts: { bootstrap?: boolean } = {}): string | undefined {
  const f = fold(username);
  return RESERVED.find((r) => !(r.unlessBootstrap && opts.bootstrap) && f.startsWith(fold(r.prefix)))?.prefix;
}

/**
 * Throws `username_reserved` when a person picks a name the server reserves.
 * SECURITY: nobody can squat `deleted.<id>` (which made a user undeletable) or pose as a bot or admin.
 */
export function assertUsernameNotReserved(username: string, opts: { bootstrap?: boolean } = {}): void {
  const prefix = reservedPrefixOf(username, opts);
  if (prefix !== undefined)
    throw new AppError('username_reserved', `user names starting with ${prefix} (or a look-alike) are reserved`);
}

/** A user name derived from an identity provider's claim, moved out of the reserved prefixes (`user-…`). */
export function unreservedUsername(base: string): string {
  return reservedPrefixOf(base) === undefined ? base : `user-${base}`.slice(0, 24);
}

/**
 * The name a deleted account takes: `deleted.<full id>.<random>`, checked free in the transaction
 * and drawn again on a collision, so deleting a user can never fail on the unique user name.
 * SECURITY: nobody else can hold a `deleted.` name (reserved at enrolment and sign-on), and the random
 * suffix leaves nothing to predict even for names squatted before the reservation existed.
 */
export async function tombstoneUsername(exec: Executor, userId: string): Promise<string> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const name = `deleted.${userId}.${randomToken(6)}`;
    if (!(await exec.selectFrom('users').select('id').where('username', '=', name).executeTakeFirst())) return name;
  }
  return `deleted.${randomId()}.${randomToken(16)}`; // 8 collisions in a row: only a broken generator gets here
}
