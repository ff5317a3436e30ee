import { isAppError, type AppError } from '../core/index.js';

/**
 * Awaits a call that must fail with an AppError and returns that error, typed, for assertions on its
 * code and details. A call that succeeds, or fails with anything else (a TypeError from a broken
 * fixture), fails the test here instead of passing a loose matcher.
 */
export async function rejectionOf(call: Promise<unknown>): Promise<AppError> {
  const outcome = await call.then(
    (value: unknown) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`expected the call to fail with an AppError, but it succeeded`);
  if (!isAppError(outcome.error)) throw new Error('expected an AppError', { cause: outcome.error });
  return outcome.error;
}
