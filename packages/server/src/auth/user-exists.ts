import { AppError } from '../core/index.js';
import type { Executor } from '../store/index.js';

/**
 * Throws `not_found` unless an account with this id exists (disabled or deleted ones count).
 * SECURITY: admin actions aimed at an id that is no account answer 404 and audit nothing as a success.
 */
export async function assertUserExists(exec: Executor, userId: string): Promise<void> {
  const u = await exec.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
  if (!u) throw new AppError('not_found', 'no such user');
}
