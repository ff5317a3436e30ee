/** Shared set-up of the FileStateStore tests: temporary profile folders, error codes, cheap scrypt. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { StateStoreError } from '../../e2ee/state-store.js';

/** The smallest scrypt cost the store accepts (N = 2^14): the default (2^17) is checked once, on its own. */
export const FAST_SCRYPT = { N: 2 ** 14, r: 8, p: 1 };

/** A fresh profile folder (removed after the file's tests); the store goes in `<profile>/state`. */
export function tempProfile(): { profile: string; dir: string } {
  const profile = mkdtempSync(join(tmpdir(), 'palisade-state-'));
  made.push(profile);
  return { profile, dir: join(profile, 'state') };
}
const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** The StateStoreError code a promise rejects with (undefined if it resolves). */
export async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return e instanceof StateStoreError ? e.code : `not a StateStoreError: ${String(e)}`;
  }
}
