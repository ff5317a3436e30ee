import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateStoreError, type StateStoreErrorCode } from '../e2ee/state-store.js';
import { FileStateStore } from '../node/index.js';
import { describeStateError, openProfileState, STATE_PASSPHRASE_ENV, stateDir } from './state.js';

const saved = { home: process.env.PALISADE_CHAT_HOME, pass: process.env[STATE_PASSPHRASE_ENV] };
let home = '';
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'palisade-cli-state-'));
  process.env.PALISADE_CHAT_HOME = home;
});
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  process.env.PALISADE_CHAT_HOME = saved.home;
  if (saved.pass === undefined) delete process.env[STATE_PASSPHRASE_ENV];
});

describe('the chat profile state', () => {
  it('lives in <profile>/state and opens, with a passphrase from the environment when it has one', async () => {
    expect(stateDir()).toBe(join(home, 'state'));
    expect(await FileStateStore.protectionOf(stateDir())).toBeUndefined();
    const first = await FileStateStore.open(stateDir(), { passphrase: 'pw', scrypt: { N: 2 ** 14, r: 8, p: 1 } });
    await first.put('k', new Uint8Array([1]));
    await first.close();
    expect(await FileStateStore.protectionOf(stateDir())).toBe('passphrase');
    process.env[STATE_PASSPHRASE_ENV] = 'pw';
    const store = await openProfileState();
    expect(await store.get('k')).toEqual(new Uint8Array([1]));
    await store.close();
    expect(existsSync(join(home, 'state.key'))).toBe(false);
  });

  it('explains every failure code in words, with what to do', () => {
    const codes: StateStoreErrorCode[] = ['state_locked', 'state_corrupt', 'state_busy', 'state_io', 'state_invalid'];
    const texts = codes.map((c) => describeStateError(new StateStoreError(c, `detail of ${c}`)));
    for (const [i, t] of texts.entries()) expect(t).toContain(`detail of ${codes[i]}`);
    expect(new Set(texts).size).toBe(codes.length);
    expect(texts[0]).toContain(STATE_PASSPHRASE_ENV);
    expect(texts[1]).toMatch(/move the folder aside/i);
  });
});
