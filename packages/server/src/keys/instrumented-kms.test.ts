import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KeyOperation } from '../core/index.js';
import { LocalKms, type Kms } from '../crypto/index.js';
import { instrumentKms } from './index.js';

describe('instrumentKms (a real local KMS)', () => {
  it('counts and times wrap, unwrap and rotate with their outcome, and changes nothing they return', async () => {
    const seen: { op: KeyOperation; outcome: string; seconds: number }[] = [];
    let t = 0;
    const kms = instrumentKms(
      new LocalKms(join(mkdtempSync(join(tmpdir(), 'palisade-ikms-')), 'keyring.json'), randomBytes(32)),
      {
        keyOperation: (op, outcome, seconds) => seen.push({ op, outcome, seconds }),
      },
      () => (t += 2),
    );
    const dk = randomBytes(32);
    const w = await kms.wrap(dk);
    expect((await kms.unwrap(w.version, w.wrapped)).equals(dk)).toBe(true);
    expect(await kms.rotate()).toBe(2);
    const tampered = Buffer.from(w.wrapped);
    tampered[0] = (tampered[0] ?? 0) ^ 1;
    await expect(kms.unwrap(w.version, tampered)).rejects.toThrow();
    expect(seen).toEqual([
      { op: 'wrap', outcome: 'success', seconds: 0.002 },
      { op: 'unwrap', outcome: 'success', seconds: 0.002 },
      { op: 'rotate', outcome: 'success', seconds: 0.002 },
      { op: 'unwrap', outcome: 'failure', seconds: 0.002 },
    ]);
    expect(kms.provider).toBe('local');
    expect(await kms.currentVersion()).toBe(2);
  });

  it('passes the readiness check through, so /readyz still sees a KMS that cannot work', async () => {
    const inner = new LocalKms(join(mkdtempSync(join(tmpdir(), 'palisade-ikms-')), 'keyring.json'), randomBytes(32));
    const kms = instrumentKms(inner, { keyOperation: () => undefined });
    expect('health' in kms).toBe(true);
    expect(await kms.health?.()).toBe(await inner.health());
    const gone: Kms = {
      provider: 'pkcs11',
      currentVersion: () => inner.currentVersion(),
      versions: () => inner.versions(),
      wrap: (k) => inner.wrap(k),
      unwrap: (v, w) => inner.unwrap(v, w),
      rotate: () => inner.rotate(),
      destroyVersion: (v) => inner.destroyVersion(v),
      health: () => Promise.resolve('the token is gone'),
    };
    const broken = instrumentKms(gone, { keyOperation: () => undefined });
    expect(await broken.health!()).toBe('the token is gone');
  });
});
