import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { FakeClock } from '../core/index.js';
import { CryptoIntegrityError, LocalKms, Pkcs11Kms, randomKey, type Kms } from '../crypto/index.js';
import { softHsmToken } from '../test-support/softhsm.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { EnvelopeSealer, KeyDestroyedError } from './index.js';

const hsm = softHsmToken();
const providers: Record<string, (() => Kms) | undefined> = {
  local: () => new LocalKms(join(mkdtempSync(join(tmpdir(), 'palisade-keys-')), 'keyring.json'), randomKey(32)),
  pkcs11: hsm && (() => Pkcs11Kms.open({ ...hsm, labelPrefix: `keys-${randomKey(6).toString('hex')}` })),
};

for (const [provider, makeKms] of Object.entries(providers)) {
  if (!makeKms) continue;
  withAllStores(`envelope encryption with KMS-wrapped data keys (${provider} KMS)`, (h) => {
    // One KMS per store, as in production: every data key in the table is wrapped by it.
    let shared: Kms | undefined;
    const setup = () => {
      shared ??= makeKms();
      return { kms: shared, sealer: new EnvelopeSealer(h.get().db, shared, new FakeClock()) };
    };

    it('seals per scope with AAD binding: a ciphertext moved to another row or column does not open', async () => {
      const { sealer } = setup();
      const marker = 'MARKER-totp-secret-7f3a';
      const sealed = await sealer.seal(Buffer.from(marker), 'authenticators.secret_sealed:row-1', 'user:u1');
      expect(sealed).not.toContain(marker);
      expect(Buffer.from(sealed).toString('base64')).not.toContain(Buffer.from(marker).toString('base64'));
      expect(Buffer.from(await sealer.unseal(sealed, 'authenticators.secret_sealed:row-1')).toString()).toBe(marker);
      await expect(sealer.unseal(sealed, 'authenticators.secret_sealed:row-2')).rejects.toThrow(CryptoIntegrityError);
      await expect(sealer.unseal(sealed, 'users.email:row-1')).rejects.toThrow(CryptoIntegrityError);
      const rows = await h.get().db.selectFrom('data_keys').selectAll().execute();
      expect(rows.some((r) => r.scope === 'user:u1')).toBe(true);
    });

    it('rotates the KEK and rewraps every data key online; old values still open; rerunning finishes nothing twice', async () => {
      const { kms, sealer } = setup();
      const a = await sealer.seal(Buffer.from('alpha'), 't.c:1', 'user:rot-a');
      const b = await sealer.seal(Buffer.from('beta'), 't.c:2', 'conversation:rot-b');
      const before = await kms.currentVersion();
      expect(await kms.rotate()).toBe(before + 1);
      const n = await sealer.rewrapAll();
      expect(n).toBeGreaterThanOrEqual(2);
      expect(await sealer.rewrapAll()).toBe(0);
      const fresh = new EnvelopeSealer(h.get().db, kms, new FakeClock()); // no cached keys
      expect(Buffer.from(await fresh.unseal(a, 't.c:1')).toString()).toBe('alpha');
      expect(Buffer.from(await fresh.unseal(b, 't.c:2')).toString()).toBe('beta');
      const status = await fresh.status();
      expect(status.currentVersion).toBe(before + 1);
      expect(Object.keys(status.dataKeysPerVersion)).toEqual([String(before + 1)]);
    });

    it('crypto-shredding: destroying the keys of a scope makes its values unreadable for good', async () => {
      const { kms, sealer } = setup();
      const v = await sealer.seal(Buffer.from('gone soon'), 't.c:9', 'conversation:shred-me');
      const other = await sealer.seal(Buffer.from('stays'), 't.c:10', 'conversation:keep-me');
      expect(await sealer.destroyScope('conversation:shred-me')).toBe(1);
      await expect(new EnvelopeSealer(h.get().db, kms, new FakeClock()).unseal(v, 't.c:9')).rejects.toBeInstanceOf(
        KeyDestroyedError,
      );
      expect(Buffer.from(await sealer.unseal(other, 't.c:10')).toString()).toBe('stays');
      const row = await h
        .get()
        .db.selectFrom('data_keys')
        .selectAll()
        .where('scope', '=', 'conversation:shred-me')
        .executeTakeFirstOrThrow();
      expect(row.wrapped).toBe('');
      // A new value in that scope gets a new key.
      const again = await sealer.seal(Buffer.from('new'), 't.c:11', 'conversation:shred-me');
      expect(Buffer.from(await sealer.unseal(again, 't.c:11')).toString()).toBe('new');
    });
  });
}
