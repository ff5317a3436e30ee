import { AppError } from '../core/index.js';
import { blocklistReason, strengthEstimator } from './blocklist.js';

/** SECURITY-BASELINE (800-63B-4 §3.1.1.2): 15 code points when the password is the only factor. */
export const MIN_SINGLE_FACTOR_LENGTH = 15;
/** Longest password accepted (at least 64 must be allowed). */
export const MAX_PASSWORD_LENGTH = 256;
/**
 * Fewest guesses (log10) the estimator must put on a password: 10^12 for a password that is the only
 * factor, 10^8 for one factor of MFA (the second factor and the online limits carry the rest).
 */
export const MIN_GUESSES_LOG10 = { single: 12, mfa: 8 } as const;

/** Product words a password must not be built around (callers put them in the context words). */
export const PRODUCT_WORDS: readonly string[] = ['palisade'];
/** Code points given to the estimator: past this a password is long enough, and the cost stays bounded. */
const ESTIMATE_PREFIX = 64;

const PATTERN_REASONS: Record<string, string> = {
  dictionary: 'it is made of common passwords, names or words in a guessable way',
  spatial: 'it follows a keyboard pattern',
  repeat: 'it repeats the same characters or words',
  sequence: 'it is a sequence such as abcd or 4321',
  date: 'it is built on a date',
  regex: 'it is built on a recent year',
};

/** Why the estimator finds the password too easy to guess, or undefined. */
function estimatorReason(password: string, context: string[], minLog10: number): string | undefined {
  const prefix = [...password].slice(0, ESTIMATE_PREFIX).join('');
  const r = strengthEstimator().check(
    prefix,
    context.filter((w) => w.length >= 3).map((w) => w.toLowerCase()),
  );
  if (r.guessesLog10 >= minLog10) return undefined;
  const pattern = r.sequence.map((m) => m.pattern).find((p) => p in PATTERN_REASONS);
  return `it is too easy to guess${pattern ? `: ${PATTERN_REASONS[pattern]}` : ''}`;
}

/**
 * Checks a new password against the baseline: length in code points, the blocklist after normalising
 * (l33t, repeats, keyboard walks, numeric runs), a strength estimate (zxcvbn-ts), and context words
 * (user name, display name, organisation and product names). No composition rules. The password is
 * never altered (no trimming, no case folding) and never echoed in a reason.
 * Throws `weak_password` with every reason at once.
 */
export function assertPasswordAcceptable(
  password: string,
  context: string[],
  minLength = MIN_SINGLE_FACTOR_LENGTH,
): void {
  const reasons: string[] = [];
  const length = [...password].length;
  if (length < minLength)
    reasons.push(`use at least ${minLength} characters (a short phrase of several words works well)`);
  if (length > MAX_PASSWORD_LENGTH) reasons.push(`use at most ${MAX_PASSWORD_LENGTH} characters`);
  if (length >= minLength && length <= MAX_PASSWORD_LENGTH) {
    const listed = blocklistReason(password);
    if (listed) reasons.push(`this password is refused: ${listed}`);
    const lower = password.toLowerCase();
    const squeezed = lower.replace(/[^\p{L}\p{N}]/gu, '');
    for (const word of context) {
      const w = word.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
      // What is left once the context word is taken out must be a password on its own.
      if (w.length >= 3 && squeezed.includes(w) && squeezed.split(w).join('').length < 8) {
        reasons.push("do not build the password around your user name, your organisation's name or the product name");
        break;
      }
    }
    const weak = listed
      ? undefined
      : estimatorReason(
          password,
          context,
          minLength >= MIN_SINGLE_FACTOR_LENGTH ? MIN_GUESSES_LOG10.single : MIN_GUESSES_LOG10.mfa,
        );
    if (weak) reasons.push(`this password is refused: ${weak}; several unrelated words work well`);
  }
  if (reasons.length > 0) throw new AppError('weak_password', reasons.join('; '), { details: { reasons } });
}
