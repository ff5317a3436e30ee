import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isValidEd25519PublicKey, verifyEd25519 } from './index.js';

interface Vector {
  tcId: number;
  msg: string;
  sig: string;
  result: 'valid' | 'invalid' | 'acceptable';
  flags: string[];
}
interface Group {
  publicKey: { pk: string };
  tests: Vector[];
}

// External test vectors, copied byte for byte into test/vectors/ with their LICENSE and SOURCE.
const file = resolve(import.meta.dirname, '../../../../test/vectors/wycheproof/ed25519_test.json');
const suite = JSON.parse(readFileSync(file, 'utf8')) as { numberOfTests: number; testGroups: Group[] };

describe('Ed25519 device-proof verification against Wycheproof (eddsa_verify)', () => {
  const all = suite.testGroups.flatMap((g) => g.tests.map((t) => ({ g, t })));

  it('runs every vector in the file', () => {
    expect(all.length).toBe(suite.numberOfTests);
  });

  it.each(all.map(({ g, t }) => [t.tcId, t.result, g, t] as const))('vector %i (%s)', (_id, result, g, t) => {
    const ok = verifyEd25519(Buffer.from(g.publicKey.pk, 'hex'), Buffer.from(t.msg, 'hex'), Buffer.from(t.sig, 'hex'));
    // There are no "acceptable" Ed25519 vectors; were one added, we reject it (strict verification).
    expect(ok).toBe(result === 'valid');
  });

  it('refuses malformed keys instead of throwing', () => {
    expect(isValidEd25519PublicKey(new Uint8Array(31))).toBe(false);
    expect(verifyEd25519(new Uint8Array(0), new Uint8Array(0), new Uint8Array(64))).toBe(false);
  });
});
