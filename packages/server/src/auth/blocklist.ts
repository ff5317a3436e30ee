import { createRequire } from 'node:module';
import type { ZxcvbnFactory } from '@zxcvbn-ts/core';

let cached: Set<string> | undefined;
let estimator: ZxcvbnFactory | undefined;

interface LanguagePackage {
  dictionary: Record<string, string[]>;
  adjacencyGraphs?: Record<string, unknown>;
  translations?: unknown;
}

const load = (name: string) => createRequire(import.meta.url)(name) as LanguagePackage;

/**
 * The common-password blocklist: the password dictionary maintained by the zxcvbn-ts project
 * (@zxcvbn-ts/language-common), tens of thousands of the most used and breached passwords, plus a few
 * famous passphrases attackers try first. Loaded once, lazily; compared case-insensitively.
 */
export function commonPasswords(): Set<string> {
  if (cached) return cached;
  const words = load('@zxcvbn-ts/language-common').dictionary['passwords-common'];
  if (!Array.isArray(words) || words.length < 10_000)
    throw new Error('password blocklist missing from @zxcvbn-ts/language-common');
  cached = new Set([...words.map((w) => w.toLowerCase()), ...FAMOUS_PHRASES]);
  return cached;
}

/** Passphrases published as examples (xkcd 936 and friends): as good as on every cracking list. */
const FAMOUS_PHRASES = [
  'correcthorsebatterystaple',
  'trustno1',
  'iloveyou',
  'letmein',
  'opensesame',
  'thequickbrownfoxjumpsoverthelazydog',
];

/**
 * The strength estimator (zxcvbn-ts: dictionaries of passwords, names, English words and Wikipedia
 * terms; keyboard graphs; l33t, repeats, sequences, dates). Built once, lazily: its dictionaries take a
 * few megabytes and about 200 ms to load; one check then costs milliseconds.
 */
export function strengthEstimator(): ZxcvbnFactory {
  if (estimator) return estimator;
  const { ZxcvbnFactory: Factory } = createRequire(import.meta.url)(
    '@zxcvbn-ts/core',
  ) as typeof import('@zxcvbn-ts/core');
  const common = load('@zxcvbn-ts/language-common');
  const en = load('@zxcvbn-ts/language-en');
  estimator = new Factory({
    dictionary: { ...common.dictionary, ...en.dictionary },
    graphs: common.adjacencyGraphs as never,
    translations: en.translations as never,
    // Edit-distance matching multiplies the cost of a check by ~20, and the default 512 l33t variants
    // make a random 64-character string cost seconds; the normalisation below covers both cheaply.
    useLevenshteinDistance: false,
    l33tMaxSubstitutions: 16,
  });
  return estimator;
}

const LEET: Record<string, string> = {
  '@': 'a',
  '4': 'a',
  '8': 'b',
  '(': 'c',
  '3': 'e',
  '6': 'g',
  '9': 'g',
  '#': 'h',
  '1': 'i',
  '!': 'i',
  '|': 'l',
  '0': 'o',
  $: 's',
  '5': 's',
  '7': 't',
  '+': 't',
  '2': 'z',
};

/** The password with l33t substitutions undone, lower-cased, separators removed. */
function deLeet(lower: string): string {
  return [...lower]
    .map((c) => LEET[c] ?? c)
    .join('')
    .replace(/[^\p{L}\p{N}]/gu, '');
}

/** The shortest unit the string is a repetition of (`abcabcab` -> `abc`), or the string itself. */
export function repeatedUnit(s: string): string {
  for (let n = 1; n <= s.length / 2; n++) {
    const unit = s.slice(0, n);
    if (unit.repeat(Math.ceil(s.length / n)).startsWith(s)) return unit;
  }
  return s;
}

const WALKS = [
  'qwertyuiopasdfghjklzxcvbnm',
  'qwertzuiopasdfghjklyxcvbnm',
  'azertyuiopqsdfghjklmwxcvbn',
  '1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p',
  'abcdefghijklmnopqrstuvwxyz',
  '01234567890123456789',
];

/** True when the string runs along a keyboard row, the alphabet or the digits (either direction). */
export function isWalk(s: string): boolean {
  if (s.length < 4) return false;
  return WALKS.some((w) => w.includes(s) || [...w].reverse().join('').includes(s) || (w + w).includes(s));
}

/**
 * The forms a password is matched in against the blocklist: lower-cased; l33t undone and separators
 * removed; a repeated unit taken once (`iloveyouiloveyou`); digits and symbols trimmed from both ends
 * (`Password1234567!`). Each form is checked for the blocklist, a walk, or a single repeated character.
 */
export function normalisedForms(password: string): string[] {
  const lower = password.toLowerCase();
  const forms = new Set<string>([lower, lower.replace(/[^\p{L}\p{N}]/gu, '')]);
  for (const base of [lower.replace(/[^\p{L}\p{N}]/gu, ''), deLeet(lower)]) {
    const trimmed = base.replace(/^\d+/, '').replace(/\d+$/, '');
    for (const f of [
      base,
      trimmed,
      repeatedUnit(base),
      repeatedUnit(trimmed),
      trimmed && repeatedUnit(trimmed.replace(/\d+$/, '')),
    ])
      if (f) forms.add(f);
  }
  return [...forms];
}

/** Why the password matches the normalised blocklist, or undefined when it does not. */
export function blocklistReason(password: string): string | undefined {
  const common = commonPasswords();
  const forms = normalisedForms(password);
  if (forms.some((f) => common.has(f)))
    return 'it is a common or breached password, or one with small changes (l33t, repeats, added digits)';
  if (forms.some((f) => isWalk(f) || isWalk(repeatedUnit(f))))
    return 'it follows a keyboard row, the alphabet or a run of numbers';
  if (new Set(password).size < 5) return 'it uses too few different characters';
  return undefined;
}
