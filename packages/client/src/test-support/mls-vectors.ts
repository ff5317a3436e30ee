import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CiphersuiteImpl } from 'ts-mls';
import { getCiphersuiteFromId, getCiphersuiteNameFromId, type CiphersuiteId } from 'ts-mls/crypto/ciphersuite.js';
import { cachedKeyProvider } from '../mls/ts-mls-crypto.js';

/**
 * The IETF MLS working group's interop vectors (test/vectors/mls, copied byte for byte), and the
 * cipher suites they can run with here: every suite ts-mls can instantiate with the dependencies
 * this project installs, through our crypto provider (Ed25519 with cached keys).
 */
const DIR = resolve(import.meta.dirname, '../../../../test/vectors/mls');

/** Reads one vector family. */
export function loadVectors<T>(family: string): T[] {
  return JSON.parse(readFileSync(join(DIR, `${family}.json`), 'utf8')) as T[];
}

/** Hex to bytes. */
export const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
/** Bytes to hex. */
export const tohex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const impls = new Map<number, CiphersuiteImpl | null>();

/**
 * The implementation of suite `id`, or null if ts-mls cannot run it here (an optional peer such as
 * @hpke/chacha20poly1305 or @hpke/dhkem-x448 is not installed). Probed with a real key pair and
 * AEAD call, since ts-mls loads some dependencies lazily.
 */
export async function suiteFor(id: number): Promise<CiphersuiteImpl | null> {
  if (impls.has(id)) return impls.get(id) ?? null;
  let impl: CiphersuiteImpl | null = null;
  try {
    const cs = await cachedKeyProvider().getCiphersuiteImpl(getCiphersuiteFromId(id as CiphersuiteId));
    await cs.hpke.generateKeyPair();
    await cs.hpke.encryptAead(
      new Uint8Array(cs.hpke.keyLength),
      new Uint8Array(cs.hpke.nonceLength),
      undefined,
      new Uint8Array(1),
    );
    impl = cs;
  } catch {
    impl = null;
  }
  impls.set(id, impl);
  return impl;
}

/** A suite's name, for skip lists. */
export const suiteName = (id: number): string => getCiphersuiteNameFromId(id as CiphersuiteId);

/** Splits vectors into those this build can run and the names of the suites skipped. */
export async function runnable<T extends { cipher_suite: number }>(
  vectors: T[],
): Promise<{ run: { v: T; cs: CiphersuiteImpl; name: string }[]; skipped: string[] }> {
  const run: { v: T; cs: CiphersuiteImpl; name: string }[] = [];
  const skipped: string[] = [];
  for (const v of vectors) {
    const cs = await suiteFor(v.cipher_suite);
    if (cs === null) skipped.push(suiteName(v.cipher_suite));
    else run.push({ v, cs, name: suiteName(v.cipher_suite) });
  }
  return { run, skipped };
}

/** The suites ts-mls 1.6.4 skips here (3, 4, 6: the ChaCha20 and X448 peers are not installed); it runs 1, 2, 5, 7. */
export const SKIPPED_SUITES = [
  'MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519',
  'MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448',
  'MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448',
];
