import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/index.js';
import { LocalKms, Pkcs11Kms, randomKey } from '../crypto/index.js';
import { StorageReserve } from '../limits/index.js';
import { openStore } from '../store/index.js';
import { softHsmToken } from '../test-support/softhsm.js';
import { readinessProbe } from './readiness.js';

const MiB = 1024 * 1024;
const freshStore = async () => {
  const store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'palisade-ready-')) });
  await store.migrate();
  return store;
};
const localKms = () =>
  new LocalKms(join(mkdtempSync(join(tmpdir(), 'palisade-ready-keys-')), 'keyring.json'), randomKey(32));

describe('/readyz checks: store, KMS and disk, each named when it fails', () => {
  it('is ready with a working store and keyring, and says which checks it made', async () => {
    const store = await freshStore();
    try {
      expect(await readinessProbe(store, localKms(), undefined)()).toEqual({
        ready: true,
        checks: { store: { ok: true }, kms: { ok: true }, disk: { ok: true } },
      });
    } finally {
      await store.close();
    }
  });

  it('a store that hit disk full is not ready (storage_full) until there is room again', async () => {
    const store = await freshStore();
    try {
      await sql`CREATE TABLE filler (b BLOB)`.execute(store.db);
      const pages = Number(
        (await sql<{ page_count: number }>`PRAGMA page_count`.execute(store.db)).rows[0]!.page_count,
      );
      await sql.raw(`PRAGMA max_page_count = ${pages + 2}`).execute(store.db);
      await expect(sql`INSERT INTO filler VALUES (zeroblob(65536))`.execute(store.db)).rejects.toMatchObject({
        code: 'storage_full',
      });
      const r = await readinessProbe(store, localKms(), undefined)();
      expect(r).toMatchObject({
        ready: false,
        code: 'storage_full',
        checks: { store: { ok: false, reason: expect.stringMatching(/full/) }, kms: { ok: true } },
      });
      await sql.raw(`PRAGMA max_page_count = ${pages + 10_000}`).execute(store.db);
      expect((await readinessProbe(store, localKms(), undefined)()).ready).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('a closed store is not ready (unavailable), named as the store', async () => {
    const store = await freshStore();
    await store.close();
    expect(await readinessProbe(store, localKms(), undefined)()).toMatchObject({
      ready: false,
      code: 'unavailable',
      checks: { store: { ok: false }, kms: { ok: true } },
    });
  });

  it('free disk below the reserve is not ready (storage_full), named as the disk', async () => {
    const store = await freshStore();
    try {
      const reserve = new StorageReserve(() => Promise.resolve(10 * MiB), 100 * MiB, new FakeClock());
      await reserve.refresh();
      expect(await readinessProbe(store, localKms(), reserve)()).toMatchObject({
        ready: false,
        code: 'storage_full',
        checks: { store: { ok: true }, disk: { ok: false } },
      });
    } finally {
      await store.close();
    }
  });

  const hsm = softHsmToken();
  it.skipIf(!hsm)('a PKCS#11 session that is gone is not ready (unavailable), named as the KMS', async () => {
    const store = await freshStore();
    const kms = Pkcs11Kms.open({ ...hsm!, labelPrefix: `ready-${randomKey(4).toString('hex')}` });
    try {
      expect((await readinessProbe(store, kms, undefined)()).checks.kms).toEqual({ ok: true });
      kms.close(); // the token session ends (as when a token is removed or the module fails)
      expect(await readinessProbe(store, kms, undefined)()).toMatchObject({
        ready: false,
        code: 'unavailable',
        checks: { kms: { ok: false, reason: expect.stringMatching(/PKCS#11 session/) }, store: { ok: true } },
      });
    } finally {
      await store.close();
    }
  });
});
