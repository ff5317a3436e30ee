import { copyFileSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FileStateStore } from './file-state-store.js';
import { codeOf, tempProfile } from './test-support/state-dirs.js';

const te = new TextEncoder();
const open = (dir: string) => FileStateStore.open(dir, { keyring: 'off' });
const records = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('r-'));

/** A store holding two records; returns the folder and each key's record file. */
async function twoRecords(): Promise<{ dir: string; fileOf: Record<string, string> }> {
  const { dir } = tempProfile();
  const store = await open(dir);
  await store.put('group/a', te.encode('state of a'));
  const [fa] = records(dir);
  await store.put('group/b', te.encode('state of b'));
  const fb = records(dir).find((n) => n !== fa)!;
  await store.close();
  return { dir, fileOf: { 'group/a': join(dir, fa!), 'group/b': join(dir, fb) } };
}

function flip(path: string, at: number): void {
  const raw = readFileSync(path);
  raw[at % raw.length]! ^= 0x01;
  writeFileSync(path, raw);
}

describe('FileStateStore tampering', () => {
  it('a flipped byte anywhere in a record is state_corrupt, and the other records still read', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), async (at) => {
        const { dir, fileOf } = await twoRecords();
        flip(fileOf['group/a']!, at);
        const store = await open(dir);
        expect(await codeOf(store.get('group/a'))).toBe('state_corrupt');
        expect(await store.get('group/b')).toEqual(te.encode('state of b'));
        await store.close();
      }),
      { numRuns: 15 },
    );
  });

  it('a flipped byte in the manifest makes open fail with state_corrupt', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), async (at) => {
        const { dir } = await twoRecords();
        flip(join(dir, 'manifest'), at);
        expect(await codeOf(open(dir))).toBe('state_corrupt');
      }),
      { numRuns: 10 },
    );
  });

  it('a record copied over another key is refused (bound to its key name and file)', async () => {
    const { dir, fileOf } = await twoRecords();
    copyFileSync(fileOf['group/a']!, fileOf['group/b']!);
    const store = await open(dir);
    expect(await store.get('group/a')).toEqual(te.encode('state of a'));
    expect(await codeOf(store.get('group/b'))).toBe('state_corrupt');
    await store.close();
  });

  it('an older copy of the same record put back is refused (no rollback of one record)', async () => {
    const { dir, fileOf } = await twoRecords();
    const old = readFileSync(fileOf['group/a']!);
    const store = await open(dir);
    await store.put('group/a', te.encode('epoch 2'));
    const now = records(dir).find((n) => !Object.values(fileOf).includes(join(dir, n)))!;
    writeFileSync(join(dir, now), old);
    expect(await codeOf(store.get('group/a'))).toBe('state_corrupt');
    await store.close();
  });

  it('a cut record, a missing record or a missing manifest is state_corrupt, never an empty store', async () => {
    const { dir, fileOf } = await twoRecords();
    writeFileSync(fileOf['group/a']!, readFileSync(fileOf['group/a']!).subarray(0, 20));
    rmSync(fileOf['group/b']!);
    const store = await open(dir);
    expect(await codeOf(store.get('group/a'))).toBe('state_corrupt');
    expect(await codeOf(store.get('group/b'))).toBe('state_corrupt');
    await store.close();
    rmSync(join(dir, 'manifest'));
    expect(await codeOf(open(dir))).toBe('state_corrupt');
  });

  it('a damaged or missing header is state_corrupt; an altered wrapped key is state_locked', async () => {
    const { dir } = await twoRecords();
    const header = readFileSync(join(dir, 'store.json'), 'utf8');
    for (const bad of [
      '{',
      '[]',
      header.replace('"version": 1', '"version": 2'),
      header.replace(/"keyId": "[0-9a-f]+"/, '"keyId": "x"'),
    ]) {
      writeFileSync(join(dir, 'store.json'), bad);
      expect(await codeOf(open(dir))).toBe('state_corrupt');
    }
    const h = JSON.parse(header) as { wrappedKey: string };
    const wrapped = Buffer.from(h.wrappedKey, 'base64');
    wrapped[wrapped.length - 1]! ^= 1;
    writeFileSync(join(dir, 'store.json'), JSON.stringify({ ...h, wrappedKey: wrapped.toString('base64') }));
    expect(await codeOf(open(dir))).toBe('state_locked');
    rmSync(join(dir, 'store.json'));
    expect(await codeOf(open(dir))).toBe('state_corrupt'); // records without a header: not a new store
  });

  it('an altered scrypt cost in the header is refused before any work (no self-inflicted exhaustion)', async () => {
    const { dir } = tempProfile();
    await (await FileStateStore.open(dir, { passphrase: 'p', scrypt: { N: 2 ** 14, r: 8, p: 1 } })).close();
    const h = JSON.parse(readFileSync(join(dir, 'store.json'), 'utf8')) as { scrypt: { N: number } };
    for (const N of [2 ** 30, 3000, 2 ** 10]) {
      writeFileSync(join(dir, 'store.json'), JSON.stringify({ ...h, scrypt: { ...h.scrypt, N } }));
      expect(await codeOf(FileStateStore.open(dir, { passphrase: 'p' }))).toBe('state_corrupt');
    }
  });

  it('any header text opens as state_corrupt or state_locked, never a crash (property)', async () => {
    const { dir } = await twoRecords();
    const real = JSON.parse(readFileSync(join(dir, 'store.json'), 'utf8')) as Record<string, unknown>;
    const field = fc.constantFrom(...Object.keys(real));
    const header = fc.oneof(
      fc.string(),
      fc.json(),
      fc
        .tuple(field, fc.jsonValue())
        .filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(real[k])) // a real change
        .map(([k, v]) => JSON.stringify({ ...real, [k]: v })),
      field.map((k) => JSON.stringify({ ...real, [k]: undefined })),
    );
    await fc.assert(
      fc.asyncProperty(header, async (text) => {
        writeFileSync(join(dir, 'store.json'), text);
        expect(['state_corrupt', 'state_locked']).toContain(await codeOf(open(dir)));
      }),
      { numRuns: 60 },
    );
  });

  it('any bytes as the manifest or a record are state_corrupt, never a crash (property)', async () => {
    const { dir, fileOf } = await twoRecords();
    const manifest = readFileSync(join(dir, 'manifest'));
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.boolean(), async (bytes, asManifest) => {
        writeFileSync(asManifest ? join(dir, 'manifest') : fileOf['group/a']!, bytes);
        if (asManifest) {
          expect(await codeOf(open(dir))).toBe('state_corrupt');
          writeFileSync(join(dir, 'manifest'), manifest);
        } else {
          const store = await open(dir);
          expect(await codeOf(store.get('group/a'))).toBe('state_corrupt');
          await store.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  it('leftovers of a batch that never committed (records, temp files) are removed at open', async () => {
    const { dir } = await twoRecords();
    writeFileSync(join(dir, `r-${'0'.repeat(32)}`), 'orphan of a crashed batch');
    writeFileSync(join(dir, 'manifest.abcdef.tmp'), 'half a manifest');
    const store = await open(dir);
    expect(readdirSync(dir).sort()).toEqual([...records(dir)].concat(['lock', 'manifest', 'store.json']).sort());
    expect(readdirSync(dir)).not.toContain(`r-${'0'.repeat(32)}`);
    expect(await store.keys('')).toEqual(['group/a', 'group/b']);
    await store.close();
  });
});
