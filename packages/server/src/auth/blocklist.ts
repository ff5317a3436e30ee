import { createRequire } from 'node:module';

let cached: Set<string> | undefined;

/**
 * The common-password blocklist: the password dictionary maintained by the zxcvbn-ts project
 * (@zxcvbn-ts/language-common), tens of thousands of the most used and breached passwords.
 * Loaded once, lazily; compared case-insensitively.
 */
export function commonPasswords(): Set<string> {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const mod = require('@zxcvbn-ts/language-common') as { dictionary: Record<string, string[]> };
  const words = mod.dictionary['passwords-common'];
  if (!Array.isArray(words) || words.length < 10_000) throw new Error('password blocklist missing from @zxcvbn-ts/language-common');
  cached = new Set(words.map((w) => w.toLowerCase()));
  return cached;
}
