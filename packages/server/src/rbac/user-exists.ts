import { AppError } from '../core/index.js';
import type { RbacDeps } from './deps.js';

/** Throws `not_found` unless the user exists (and, unless `anyState`, is not disabled). */
export async function userExists(
  deps: Pick<RbacDeps, 'db'>,
  userId: string,
  opts: { anyState?: boolean } = {},
): Promise<void> {
  let q = deps.db.selectFrom('users').select('id').where('id', '=', userId);
  if (!opts.anyState) q = q.where('disabled_at', 'is', null);
  if (!(await q.executeTakeFirst())) throw new AppError('not_found', 'no such user');
}
