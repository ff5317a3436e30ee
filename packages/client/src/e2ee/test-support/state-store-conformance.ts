/**
 * The behaviour every StateStore must have, written once and run against each implementation
 * (MemoryStateStore, FileStateStore), including a model-based property test: any sequence of
 * operations leaves the store equal to a plain Map that had the same operations.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { StateStoreError, type StateStore } from '../state-store.js';

const te = new TextEncoder();
const b = (s: string) => te.encode(s);

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return e instanceof StateStoreError ? e.code : `not a StateStoreError: ${String(e)}`;
  }
}

type Op =
  | { op: 'put'; key: string; value: Uint8Array }
  | { op: 'delete'; key: string }
  | { op: 'putMany'; entries: [string, Uint8Array | undefined][] };

/** Registers the conformance tests; `make` gives a fresh, empty store (and, if it persists, `reopen`: close it and open it again). */
export function stateStoreConformance(
  make: () => Promise<{ store: StateStore; reopen?: () => Promise<StateStore> }>,
  opts: { numRuns: number },
): void {
  it('stores, replaces, deletes and lists by prefix', async () => {
    const { store } = await make();
    expect(await store.get('group/a')).toBeUndefined();
    await store.put('group/a', b('one'));
    await store.put('group/b', b('two'));
    await store.put('kp/x', new Uint8Array(0));
    await store.put('group/a', b('three'));
    expect(await store.get('group/a')).toEqual(b('three'));
    expect(await store.get('kp/x')).toEqual(new Uint8Array(0));
    expect(await store.keys('group/')).toEqual(['group/a', 'group/b']);
    expect(await store.keys('')).toEqual(['group/a', 'group/b', 'kp/x']);
    await store.delete('group/a');
    await store.delete('never-there');
    expect(await store.get('group/a')).toBeUndefined();
    expect(await store.keys('group/')).toEqual(['group/b']);
  });

  it('putMany applies all entries, deletes undefined ones, and the last entry for a key wins', async () => {
    const { store } = await make();
    await store.put('old', b('x'));
    await store.putMany([
      ['a', b('1')],
      ['old', undefined],
      ['a', b('2')],
      ['c', b('3')],
    ]);
    expect(await store.keys('')).toEqual(['a', 'c']);
    expect(await store.get('a')).toEqual(b('2'));
  });

  it('refuses bad input with state_invalid, and a batch with one bad entry changes nothing', async () => {
    const { store } = await make();
    await store.put('keep', b('k'));
    expect(await code(store.put('', b('x')))).toBe('state_invalid');
    expect(await code(store.put('\uD800', b('x')))).toBe('state_invalid');
    expect(await code(store.put('k'.repeat(513), b('x')))).toBe('state_invalid');
    expect(await code(store.put('ok', 'text' as unknown as Uint8Array))).toBe('state_invalid');
    expect(await code(store.get(42 as unknown as string))).toBe('state_invalid');
    expect(await code(store.keys(undefined as unknown as string))).toBe('state_invalid');
    expect(await code(store.putMany('x' as unknown as []))).toBe('state_invalid');
    expect(
      await code(
        store.putMany([
          ['new', b('n')],
          ['keep', undefined],
          ['', b('bad')],
        ]),
      ),
    ).toBe('state_invalid');
    expect(await store.keys('')).toEqual(['keep']);
    expect(await store.get('keep')).toEqual(b('k'));
  });

  it('copies values in and out: changing a buffer afterwards changes nothing stored', async () => {
    const { store } = await make();
    const v = b('abc');
    await store.put('k', v);
    v[0] = 0;
    const got = (await store.get('k'))!;
    got[1] = 0;
    expect(await store.get('k')).toEqual(b('abc'));
  });

  it('behaves like a Map under any sequence of operations (model-based property)', async () => {
    const key = fc.constantFrom('g/1', 'g/2', 'kp/a', 'kp/b', 'device', 'g/\u00e9\u{1F600}');
    const value = fc.uint8Array({ maxLength: 64 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant('put' as const), key, value }),
      fc.record({ op: fc.constant('delete' as const), key }),
      fc.record({
        op: fc.constant('putMany' as const),
        entries: fc.array(fc.tuple(key, fc.option(value, { nil: undefined })), { maxLength: 4 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 8 }), async (ops) => {
        const { store, reopen } = await make();
        const model = new Map<string, Uint8Array>();
        for (const o of ops) {
          if (o.op === 'put') {
            await store.put(o.key, o.value);
            model.set(o.key, o.value);
          } else if (o.op === 'delete') {
            await store.delete(o.key);
            model.delete(o.key);
          } else {
            await store.putMany(o.entries);
            for (const [k, v] of o.entries) {
              if (v === undefined) model.delete(k);
              else model.set(k, v);
            }
          }
        }
        const check = async (s: StateStore) => {
          expect(await s.keys('')).toEqual([...model.keys()].sort());
          for (const [k, v] of model) expect(await s.get(k)).toEqual(v);
          expect(await s.keys('kp/')).toEqual([...model.keys()].filter((k) => k.startsWith('kp/')).sort());
        };
        await check(store);
        if (reopen) await check(await reopen()); // what was acknowledged is what a restart finds
      }),
      { numRuns: opts.numRuns },
    );
  });
}
