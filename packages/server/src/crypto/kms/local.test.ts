import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CryptoIntegrityError } from '../primitives.js';
import { LocalKms } from './index.js';
import type { Kms } from './kms.js';
import { kmsProviderSuite } from './provider-suite.js';

const dir = () => mkdtempSync(join(tmpdir(), 'palisade-kms-'));

describe('LocalKms (keyring sealed by a master secret kept elsewhere)', () => {
  const where = new WeakMap<Kms, { path: string; master: Buffer }>();
  kmsProviderSuite({
    fresh: (now) => {
      const at = { path: join(dir(), 'keyring.json'), master: randomBytes(32) };
      const kms = new LocalKms(at.path, at.master, now);
      where.set(kms, at);
      return kms;
    },
    reopen: (kms) => new LocalKms(where.get(kms)!.path, where.get(kms)!.master),
  });

  it('wraps and unwraps data keys, keeps old versions across rotation, and reopens from disk', async () => {
    const path = join(dir(), 'keyring.json');
    const master = randomBytes(32);
    const kms = new LocalKms(path, master);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const dk = randomBytes(32);
    const a = await kms.wrap(dk);
    expect(a.version).toBe(1);
    expect(await kms.rotate()).toBe(2);
    const b = await kms.wrap(dk);
    expect(b.version).toBe(2);
    expect(b.wrapped.equals(a.wrapped)).toBe(false);
    const again = new LocalKms(path, master);
    expect((await again.unwrap(1, a.wrapped)).equals(dk)).toBe(true);
    expect((await again.unwrap(2, b.wrapped)).equals(dk)).toBe(true);
    expect((await again.versions()).map((v) => v.version)).toEqual([1, 2]);
    // The keyring file holds no key in clear.
    expect(readFileSync(path, 'utf8')).not.toContain(dk.toString('base64'));
  });

  it('refuses a wrong master secret, an altered keyring, and an altered wrapped key', async () => {
    const path = join(dir(), 'keyring.json');
    const master = randomBytes(32);
    const kms = new LocalKms(path, master);
    expect(() => new LocalKms(path, randomBytes(32))).toThrow(/master secret does not open/);
    const w = await kms.wrap(randomBytes(32));
    w.wrapped[3] = (w.wrapped[3] ?? 0) ^ 1;
    await expect(kms.unwrap(w.version, w.wrapped)).rejects.toThrow(CryptoIntegrityError);
    const ring = JSON.parse(readFileSync(path, 'utf8')) as { kek: { wrapped: string }[]; salt: string };
    ring.kek[0]!.wrapped = Buffer.alloc(40, 7).toString('base64');
    writeFileSync(path, JSON.stringify(ring));
    expect(() => new LocalKms(path, master)).toThrow(/keyring was altered/);
    expect(() => new LocalKms(join(dir(), 'k.json'), Buffer.alloc(16))).toThrow(/at least 32 bytes/);
  });

  it('changes the master secret: the KEKs stay, the old secret opens the keyring no more', async () => {
    const path = join(dir(), 'keyring.json');
    const oldSecret = randomBytes(32);
    const kms = new LocalKms(path, oldSecret);
    const w = await kms.wrap(randomBytes(32));
    const before = readFileSync(path, 'utf8');
    const next = randomBytes(32);
    expect(() => kms.changeMasterSecret(Buffer.alloc(8))).toThrow(/at least 32 bytes/);
    kms.changeMasterSecret(next);
    expect(readFileSync(path, 'utf8')).not.toBe(before);
    expect(() => new LocalKms(path, oldSecret)).toThrow(/master secret does not open/);
    const reopened = new LocalKms(path, next);
    expect((await reopened.unwrap(w.version, w.wrapped)).equals(await kms.unwrap(w.version, w.wrapped))).toBe(true);
    // A copy of the old keyring (as an old backup carries) opens with the old secret only.
    const oldCopy = join(dir(), 'old.json');
    writeFileSync(oldCopy, before);
    expect((await new LocalKms(oldCopy, oldSecret).unwrap(w.version, w.wrapped)).length).toBe(32);
    expect(() => new LocalKms(oldCopy, next)).toThrow(/master secret does not open/);
  });

  it("S12: a keyring held in memory (a backup's) opens keys without touching any file, and an altered salt is refused", async () => {
    const d = dir();
    const path = join(d, 'keyring.json');
    const master = randomBytes(32);
    const kms = new LocalKms(path, master);
    const w = await kms.wrap(randomBytes(32));
    const ring = JSON.parse(readFileSync(path, 'utf8')) as { kek: { wrapped: string }[]; salt: string };
    const mem = LocalKms.inMemory(ring, master);
    expect((await mem.unwrap(w.version, w.wrapped)).equals(await kms.unwrap(w.version, w.wrapped))).toBe(true);
    await expect(mem.rotate()).rejects.toThrow(/held in memory only/);
    expect(readdirSync(d)).toEqual(['keyring.json']);
    const salt: string = ring.salt;
    expect(() => LocalKms.inMemory({ ...ring, salt: (salt[0] === 'A' ? 'B' : 'A') + salt.slice(1) }, master)).toThrow(
      /master secret does not open/,
    );
    expect(() => LocalKms.inMemory({ format: 'palisade-keyring-v1', salt }, master)).toThrow(/not a Palisade keyring/);
    expect(() => LocalKms.inMemory({ ...ring, kek: [] }, master)).toThrow(/holds no KEK/);
  });
});
