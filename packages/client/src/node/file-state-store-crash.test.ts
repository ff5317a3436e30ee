/**
 * Crash test of FileStateStore: a child process commits batches (or rekeys) and is SIGKILLed at a
 * random point; the store must then open with either all of the batch in flight or none of it (never
 * a torn, missing or unreadable record), and with every batch the child saw acknowledged.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { FileStateStore } from './file-state-store.js';
// @ts-expect-error: plain JavaScript shared with the child process
import { batch, rekeyTarget } from './test-support/state-crash-batches.mjs';
import { tempProfile } from './test-support/state-dirs.js';

const CHILD = join(import.meta.dirname, 'test-support/state-crash-child.mjs');
const DIST = join(import.meta.dirname, '../../dist/node/file-state-store.js');
const td = new TextDecoder();
type Entries = [string, Uint8Array | undefined][];
const batchOf = batch as (n: number) => Entries;
const targetOf = rekeyTarget as (n: number) => { passphrase?: string };

/**
 * Runs the child from `start`; kills it `afterMs` after it prints the `killAt` line (the injected
 * fault's timing, so the kill lands anywhere in the batch: a batch takes a few ms); returns what it
 * printed.
 */
async function runAndKill(
  dir: string,
  mode: string,
  start: number,
  killAt: string,
  afterMs: number,
  passphrase = '',
): Promise<{ begun: number; done: number }> {
  const child = spawn(process.execPath, [CHILD, dir, mode, String(start), passphrase], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let armed = false;
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (!armed && out.split('\n').includes(killAt)) {
      armed = true;
      setTimeout(() => child.kill('SIGKILL'), afterMs);
    }
  });
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
    child.on('close', (c, s) => resolve([c, s])),
  );
  expect({ code, signal, err }).toEqual({ code: null, signal: 'SIGKILL', err: '' });
  const last = (word: string) =>
    Math.max(
      start - 1,
      ...out.split('\n').flatMap((l) => (l.startsWith(`${word} `) ? [Number(l.slice(word.length + 1))] : [])),
    );
  return { begun: last('begin'), done: last('done') };
}

describe('FileStateStore crash safety (SIGKILL at random points)', () => {
  beforeAll(() => {
    if (!existsSync(DIST)) throw new Error('the crash test runs the built store: run `npm run build` first');
  });

  it('putMany is all or none, and every acknowledged batch survives', async () => {
    const { dir } = tempProfile();
    await (await FileStateStore.open(dir, { keyring: 'off' })).close();
    let next = 1;
    let interrupted = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 25 }), async (extra, afterMs) => {
        const { begun, done } = await runAndKill(dir, 'batches', next, `begin ${next + extra}`, afterMs);
        if (begun > done) interrupted++;
        const store = await FileStateStore.open(dir, { keyring: 'off' });
        try {
          const gen = Number(td.decode((await store.get('gen')) ?? new Uint8Array()));
          expect([done, begun]).toContain(gen); // acknowledged batches stay; the one in flight is all or none
          if (gen > 0) {
            const expected = new Map(batchOf(gen).filter((e): e is [string, Uint8Array] => e[1] !== undefined));
            expect(await store.keys('')).toEqual([...expected.keys()].sort());
            // Buffer.equals: toEqual walks 256 KiB arrays element by element, far too slowly
            for (const [k, v] of expected) expect(Buffer.from((await store.get(k))!).equals(v), k).toBe(true);
          }
          // and what the killed batch left half-written is gone: only the live records remain
          expect(readdirSync(dir).filter((n) => n.startsWith('r-'))).toHaveLength(gen > 0 ? 6 : 0);
          expect(
            readdirSync(dir)
              .filter((n) => !n.startsWith('r-'))
              .sort(),
          ).toEqual(['lock', 'manifest', 'store.json']);
          next = gen + 1;
        } finally {
          await store.close();
        }
      }),
      { numRuns: 30, endOnFailure: true }, // each run continues the last: no shrinking,
    );
    expect(interrupted).toBeGreaterThan(0); // some kills did land inside a putMany
  });

  it('rekey is atomic: the store opens with the old protection or the new one, data intact', async () => {
    const { dir } = tempProfile();
    const s = await FileStateStore.open(dir, { keyring: 'off' });
    await s.putMany(batchOf(1));
    await s.close();
    let next = 1;
    let current: { passphrase?: string } = {};
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 40 }), async (extra, afterMs) => {
        const { begun, done } = await runAndKill(
          dir,
          'rekey',
          next,
          `begin ${next + extra}`,
          afterMs,
          current.passphrase,
        );
        const candidates = [done, begun].map((n) => (n < next ? current : targetOf(n)));
        let opened: FileStateStore | undefined;
        for (const c of candidates) {
          opened = await FileStateStore.open(dir, { keyring: 'off', ...c }).catch(() => undefined);
          if (opened) {
            current = c;
            break;
          }
        }
        expect(opened, `opens with the protection of rekey ${done} or ${begun}`).toBeDefined();
        try {
          expect(await opened!.get('gen')).toEqual(new TextEncoder().encode('1'));
          expect(await opened!.keys('')).toHaveLength(6);
        } finally {
          await opened!.close();
        }
        next = begun + 1;
      }),
      { numRuns: 12, endOnFailure: true },
    );
  });
});
