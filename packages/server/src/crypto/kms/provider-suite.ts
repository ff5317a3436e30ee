import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import type { Kms } from './kms.js';

/** How a provider suite gets a fresh KMS, and reopens the same one (as a restarted process would). */
export interface KmsFactory {
  fresh(now?: () => number): Kms;
  reopen(kms: Kms): Kms;
}

/** The contract every KMS provider must meet; run for `local` and `pkcs11` alike. */
export function kmsProviderSuite(factory: KmsFactory): void {
  it('wraps and unwraps data keys, keeps old versions across rotation, and reopens with them', async () => {
    let t = 1_000;
    const kms = factory.fresh(() => t);
    expect(await kms.currentVersion()).toBe(1);
    const dk = randomBytes(32);
    const a = await kms.wrap(dk);
    expect(a.version).toBe(1);
    expect(a.wrapped.includes(dk)).toBe(false);
    t = 2_000;
    expect(await kms.rotate()).toBe(2);
    const b = await kms.wrap(dk);
    expect(b.version).toBe(2);
    expect(b.wrapped.equals(a.wrapped)).toBe(false);
    const again = factory.reopen(kms);
    expect((await again.unwrap(1, a.wrapped)).equals(dk)).toBe(true);
    expect((await again.unwrap(2, b.wrapped)).equals(dk)).toBe(true);
    expect(await again.versions()).toEqual([
      { version: 1, createdAt: 1_000 },
      { version: 2, createdAt: 2_000 },
    ]);
    expect(await again.currentVersion()).toBe(2);
  });

  it('refuses an altered wrapped key, a key under the wrong version, and an unknown version', async () => {
    const kms = factory.fresh();
    const w = await kms.wrap(randomBytes(32));
    await kms.rotate();
    const bad = Buffer.from(w.wrapped);
    bad[5] = (bad[5] ?? 0) ^ 1;
    await expect(kms.unwrap(w.version, bad)).rejects.toThrow();
    await expect(kms.unwrap(2, w.wrapped)).rejects.toThrow();
    await expect(kms.unwrap(9, w.wrapped)).rejects.toThrow(/no KEK version 9/);
    expect((await kms.unwrap(1, w.wrapped)).length).toBe(32);
  });

  it('destroys an old KEK version for good, never the current one', async () => {
    const kms = factory.fresh();
    const old = await kms.wrap(randomBytes(32));
    await kms.rotate();
    const kept = await kms.wrap(randomBytes(32));
    await expect(kms.destroyVersion(2)).rejects.toThrow(/current KEK version cannot be destroyed/);
    await kms.destroyVersion(1);
    await expect(kms.unwrap(1, old.wrapped)).rejects.toThrow(/no KEK version 1/);
    const again = factory.reopen(kms);
    expect((await again.versions()).map((v) => v.version)).toEqual([2]);
    await expect(again.unwrap(1, old.wrapped)).rejects.toThrow();
    expect((await again.unwrap(2, kept.wrapped)).length).toBe(32);
  });

  it('keeps many concurrent wraps and unwraps apart', async () => {
    const kms = factory.fresh();
    const keys = Array.from({ length: 64 }, () => randomBytes(32));
    const wrapped = await Promise.all(keys.map((k) => kms.wrap(k)));
    const back = await Promise.all(wrapped.map((w) => kms.unwrap(w.version, w.wrapped)));
    for (let i = 0; i < keys.length; i++) expect(back[i]!.equals(keys[i]!)).toBe(true);
  });
}
