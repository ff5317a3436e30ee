import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stateStoreConformance } from '../e2ee/test-support/state-store-conformance.js';
import { FileStateStore } from './file-state-store.js';
import { codeOf, FAST_SCRYPT, tempProfile } from './test-support/state-dirs.js';

const te = new TextEncoder();
const MARKER = 'PLAINTEXT-MARKER-7f3a';
const mode = (p: string) => statSync(p).mode & 0o777;

describe('FileStateStore', () => {
  describe('conformance (key file)', () => {
    stateStoreConformance(
      async () => {
        const { dir } = tempProfile();
        let store = await FileStateStore.open(dir, { keyring: 'off' });
        return {
          store,
          reopen: async () => {
            await store.close();
            store = await FileStateStore.open(dir, { keyring: 'off' });
            return store;
          },
        };
      },
      { numRuns: 25 },
    );
  });

  it('keeps a 0700 folder, a 0600 key file beside it, and nothing readable in the files', async () => {
    const { profile, dir } = tempProfile();
    const store = await FileStateStore.open(dir, { keyring: 'off' });
    expect(store.protection).toBe('key-file');
    await store.put(`group/${MARKER}`, te.encode(`${MARKER} ${MARKER}`));
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(profile, 'state.key'))).toBe(0o600);
    const key = JSON.parse(readFileSync(join(profile, 'state.key'), 'utf8')) as { key: string };
    for (const name of readdirSync(dir)) {
      expect(mode(join(dir, name))).toBe(0o600);
      const raw = readFileSync(join(dir, name));
      for (const enc of ['utf8', 'base64', 'hex'] as const) {
        expect(raw.toString('latin1')).not.toContain(Buffer.from(MARKER).toString(enc));
        expect(raw.toString('latin1')).not.toContain(key.key); // the key is never in the folder
      }
    }
    await store.close();
  });

  it('answers state_io (not a crash) when the platform cannot hold the store', async () => {
    const { profile } = tempProfile();
    writeFileSync(join(profile, 'not-a-folder'), 'x');
    expect(await codeOf(FileStateStore.open(join(profile, 'not-a-folder'), { keyring: 'off' }))).toBe('state_io');
    expect(await codeOf(FileStateStore.open(join(profile, 'not-a-folder', 'state'), { keyring: 'off' }))).toBe(
      'state_io',
    );
  });

  it('tightens a folder made with looser permissions', async () => {
    const { dir } = tempProfile();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { mode: 0o755 });
    const store = await FileStateStore.open(dir, { keyring: 'off' });
    expect(mode(dir)).toBe(0o700);
    await store.close();
  });

  it('opens with the right passphrase, and answers state_locked (not a crash) otherwise', async () => {
    const { profile, dir } = tempProfile();
    const store = await FileStateStore.open(dir, { passphrase: 'correct horse', scrypt: FAST_SCRYPT });
    expect(store.protection).toBe('passphrase');
    await store.put('kp/1', te.encode('secret half'));
    await store.close();
    expect(existsSync(join(profile, 'state.key'))).toBe(false);
    expect(await codeOf(FileStateStore.open(dir, { passphrase: 'wrong horse' }))).toBe('state_locked');
    expect(await codeOf(FileStateStore.open(dir))).toBe('state_locked');
    const again = await FileStateStore.open(dir, { passphrase: 'correct horse' });
    expect(await again.get('kp/1')).toEqual(te.encode('secret half'));
    await again.close();
    // and a key-file store asked for a passphrase is locked too (it has none)
    const other = tempProfile();
    await (await FileStateStore.open(other.dir, { keyring: 'off' })).close();
    expect(await codeOf(FileStateStore.open(other.dir, { passphrase: 'x' }))).toBe('state_locked');
  });

  it('uses strong scrypt parameters by default, stored with a per-store salt, and refuses weak ones', async () => {
    const a = tempProfile();
    const b = tempProfile();
    await (await FileStateStore.open(a.dir, { passphrase: 'p' })).close();
    await (await FileStateStore.open(b.dir, { passphrase: 'p', scrypt: FAST_SCRYPT })).close();
    const ha = JSON.parse(readFileSync(join(a.dir, 'store.json'), 'utf8')) as { scrypt: Record<string, unknown> };
    const hb = JSON.parse(readFileSync(join(b.dir, 'store.json'), 'utf8')) as { scrypt: Record<string, unknown> };
    expect(ha.scrypt).toMatchObject({ N: 2 ** 17, r: 8, p: 1 });
    expect(ha.scrypt.salt).not.toBe(hb.scrypt.salt);
    const c = tempProfile();
    expect(await codeOf(FileStateStore.open(c.dir, { passphrase: 'p', scrypt: { N: 1024, r: 8, p: 1 } }))).toBe(
      'state_invalid',
    );
    expect(await codeOf(FileStateStore.open(c.dir, { passphrase: '' }))).toBe('state_invalid');
  });

  it('is state_locked when the key file is gone or belongs to another store', async () => {
    const { profile, dir } = tempProfile();
    await (await FileStateStore.open(dir, { keyring: 'off' })).close();
    const keyFile = join(profile, 'state.key');
    const saved = readFileSync(keyFile);
    writeFileSync(keyFile, JSON.stringify({ storeId: 'f'.repeat(32), keyId: 'f'.repeat(32), key: 'AAAA' }));
    expect(await codeOf(FileStateStore.open(dir, { keyring: 'off' }))).toBe('state_locked');
    writeFileSync(keyFile, saved);
    await (await FileStateStore.open(dir, { keyring: 'off' })).close();
    const { rmSync } = await import('node:fs');
    rmSync(keyFile);
    expect(await codeOf(FileStateStore.open(dir, { keyring: 'off' }))).toBe('state_locked');
  });

  it('is open in one process at a time: state_busy while open, free after close or a dead holder', async () => {
    const { dir } = tempProfile();
    const store = await FileStateStore.open(dir, { keyring: 'off' });
    expect(await codeOf(FileStateStore.open(dir, { keyring: 'off' }))).toBe('state_busy');
    await store.close();
    await store.close(); // twice is fine
    expect(await codeOf(store.get('x'))).toBe('state_invalid');
    expect(await codeOf(store.put('x', new Uint8Array(1)))).toBe('state_invalid');
    writeFileSync(join(dir, 'lock'), '2147483646'); // a pid no process has: a crashed holder
    const next = await FileStateStore.open(dir, { keyring: 'off' });
    await next.close();
  });

  it('rekeys atomically: key file to passphrase, new passphrase, back to a key file', async () => {
    const { profile, dir } = tempProfile();
    const store = await FileStateStore.open(dir, { keyring: 'off' });
    await store.putMany([
      ['group/a', te.encode('A')],
      ['kp/b', te.encode('B')],
    ]);
    await store.rekey({ passphrase: 'first', scrypt: FAST_SCRYPT });
    expect(store.protection).toBe('passphrase');
    expect(existsSync(join(profile, 'state.key'))).toBe(false); // SECURITY: the weaker key is gone
    await store.rekey({ passphrase: 'second', scrypt: FAST_SCRYPT });
    await store.close();
    expect(await codeOf(FileStateStore.open(dir, { passphrase: 'first' }))).toBe('state_locked');
    const s2 = await FileStateStore.open(dir, { passphrase: 'second' });
    expect(await s2.get('group/a')).toEqual(te.encode('A'));
    await s2.rekey({});
    expect(s2.protection).toBe('key-file');
    await s2.close();
    expect(await codeOf(FileStateStore.open(dir, { passphrase: 'second' }))).toBe('state_locked');
    const s3 = await FileStateStore.open(dir, { keyring: 'off' });
    expect(await s3.get('kp/b')).toEqual(te.encode('B'));
    await s3.close();
  });
});
