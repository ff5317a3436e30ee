/**
 * The OS keyring path of FileStateStore. libsecret (`secret-tool`) is not installed on the test
 * machines, so a small stand-in script with the same command line plays it (test-support/secret-tool-stub.sh):
 * these tests prove how the store uses the keyring (detection, fallback, lookup, clean-up), not libsecret.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileStateStore } from './file-state-store.js';
import { codeOf, FAST_SCRYPT, tempProfile } from './test-support/state-dirs.js';

const te = new TextEncoder();
const saved = { PATH: process.env.PATH, dir: process.env.STUB_KEYRING_DIR, fail: process.env.STUB_KEYRING_FAIL };
let keyring = '';

beforeAll(() => {
  const { profile } = tempProfile();
  const bin = join(profile, 'bin');
  keyring = join(profile, 'keyring');
  mkdirSync(bin);
  mkdirSync(keyring);
  copyFileSync(join(import.meta.dirname, 'test-support/secret-tool-stub.sh'), join(bin, 'secret-tool'));
  process.env.PATH = `${bin}:${process.env.PATH}`;
  process.env.STUB_KEYRING_DIR = keyring;
});
afterAll(() => {
  process.env.PATH = saved.PATH;
  process.env.STUB_KEYRING_DIR = saved.dir;
  if (saved.fail === undefined) delete process.env.STUB_KEYRING_FAIL;
});
const entries = () => readdirSync(keyring);

describe('FileStateStore with the OS keyring', () => {
  it('keeps a random key in the keyring when secret-tool works: no key file, reopens, locked without it', async () => {
    const { profile, dir } = tempProfile();
    const before = entries().length;
    const store = await FileStateStore.open(dir);
    expect(store.protection).toBe('keyring');
    await store.put('group/a', te.encode('A'));
    await store.close();
    expect(existsSync(join(profile, 'state.key'))).toBe(false);
    expect(entries()).toHaveLength(before + 1);
    const again = await FileStateStore.open(dir);
    expect(await again.get('group/a')).toEqual(te.encode('A'));
    await again.close();
    for (const e of entries()) rmSync(join(keyring, e));
    expect(await codeOf(FileStateStore.open(dir))).toBe('state_locked');
  });

  it('falls back to a key file when the keyring does not work, or when told not to use it', async () => {
    process.env.STUB_KEYRING_FAIL = '1';
    try {
      const a = tempProfile();
      const store = await FileStateStore.open(a.dir);
      expect(store.protection).toBe('key-file');
      expect(existsSync(join(a.profile, 'state.key'))).toBe(true);
      await store.close();
    } finally {
      delete process.env.STUB_KEYRING_FAIL;
    }
    const b = tempProfile();
    const off = await FileStateStore.open(b.dir, { keyring: 'off' });
    expect(off.protection).toBe('key-file');
    await off.close();
  });

  it('a rekey to a passphrase removes the keyring entry; a rekey back stores a new one', async () => {
    const { dir } = tempProfile();
    const before = entries();
    const store = await FileStateStore.open(dir);
    const mine = entries().filter((e) => !before.includes(e));
    expect(mine).toHaveLength(1);
    await store.rekey({ passphrase: 'pw', scrypt: FAST_SCRYPT });
    expect(entries().sort()).toEqual(before.sort()); // SECURITY: the old key does not linger
    await store.rekey({});
    expect(store.protection).toBe('keyring');
    const fresh = entries().filter((e) => !before.includes(e));
    expect(fresh).toHaveLength(1);
    expect(fresh).not.toEqual(mine); // a new key (new key id), not the old one put back
    await store.close();
    await (await FileStateStore.open(dir)).close();
  });
});
