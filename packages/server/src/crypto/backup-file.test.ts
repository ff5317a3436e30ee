import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BackupFormatError, decryptBackupFile, encryptBackupFile, readBackupHeader } from './backup-file.js';
import { randomKey } from './tokens.js';

const header = {
  format: 'palisade-backup-v1' as const,
  createdAt: '2026-11-29T00:00:00.000Z',
  dialect: 'sqlite' as const,
  kms: { provider: 'local', version: 1, wrappedKey: 'x' },
};
const dir = () => mkdtempSync(join(tmpdir(), 'palisade-bakfile-'));

describe('backup file format (chunked AES-256-GCM)', () => {
  it('round-trips any content, across chunk boundaries', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2_600_000 }), async (size) => {
        const d = dir();
        const data = randomKey(size);
        writeFileSync(join(d, 'in'), data);
        const key = randomKey(32);
        await encryptBackupFile(join(d, 'in'), join(d, 'b'), key, header);
        expect((await readBackupHeader(join(d, 'b'))).header).toMatchObject(header);
        await decryptBackupFile(join(d, 'b'), join(d, 'out'), key);
        expect(readFileSync(join(d, 'out')).equals(data)).toBe(true);
      }),
      { numRuns: 12 },
    );
  });

  it('refuses any altered byte, any cut, an appended tail and a wrong key, with BackupFormatError', async () => {
    const d = dir();
    const data = randomKey(1_300_000);
    writeFileSync(join(d, 'in'), data);
    const key = randomKey(32);
    await encryptBackupFile(join(d, 'in'), join(d, 'b'), key, header);
    const good = readFileSync(join(d, 'b'));
    let n = 0;
    const refuses = async (bytes: Buffer, k = key) => {
      const p = join(d, `t${n++}`);
      writeFileSync(p, bytes);
      await expect(decryptBackupFile(p, `${p}.out`, k)).rejects.toBeInstanceOf(BackupFormatError);
    };
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: good.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (at, x) => {
          const bad = Buffer.from(good);
          bad[at] = (bad[at] ?? 0) ^ x;
          await refuses(bad);
        },
      ),
      { numRuns: 40 },
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: good.length - 1 }), async (cut) => refuses(good.subarray(0, cut))),
      { numRuns: 25 },
    );
    await refuses(Buffer.concat([good, Buffer.alloc(20)]));
    await refuses(good, randomKey(32));
    await refuses(Buffer.from('not a backup at all'));
  });
});
