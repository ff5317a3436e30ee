import { AppError } from '../core/index.js';
import { commonPasswords } from './blocklist.js';

/** SECURITY-BASELINE (800-63B-4 §3.1.1.2): 15 code points when the password is the only factor. */
export const MIN_SINGLE_FACTOR_LENGTH = 15;
/** Longest password accepted (at least 64 must be allowed). */
export const MAX_PASSWORD_LENGTH = 256;

/**
 * Checks a new password against the baseline: length in code points, blocklist, context words.
 * No composition rules. The password is never altered (no trimming, no case folding).
 * Throws `weak_password` with every reason at once.
 */
export function assertPasswordAcceptable(password: string, context: string[], minLength = MIN_SINGLE_FACTOR_LENGTH): void {
  const reasons: string[] = [];
  const length = [...password].length;
  if (length < minLength) reasons.push(`use at least ${minLength} characters (a short phrase of several words works well)`);
  if (length > MAX_PASSWORD_LENGTH) reasons.push(`use at most ${MAX_PASSWORD_LENGTH} characters`);
  const lower = password.toLowerCase();
  if (commonPasswords().has(lower)) reasons.push('this password is on the list of common or breached passwords');
  if (/^(.)\1*$/su.test(password)) reasons.push('do not repeat a single character');
  const squeezed = lower.replace(/[^\p{L}\p{N}]/gu, '');
  for (const word of context) {
    const w = word.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
    // What is left once the context word is taken out must be a password on its own.
    if (w.length >= 3 && squeezed.includes(w) && squeezed.split(w).join('').length < 8) {
      reasons.push('do not build the password around your user name or the product name');
      break;
    }
  }
  if (reasons.length > 0) throw new AppError('weak_password', reasons.join('; '), { details: { reasons } });
}
