import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import type { PalisadeClient } from '@palisade/client';
import { useServerWithAdmin } from '../support/harness.js';
import { createUsers, secureReader, waitFor } from '../support/users.js';

/**
 * Every way a marker could sit in a file: UTF-8, UTF-16LE, hex (both cases), and base64/base64url at
 * each of the three alignments it can have inside a longer encoded text.
 */
function encodings(marker: string): Buffer[] {
  const b = Buffer.from(marker);
  const out = [
    b,
    Buffer.from(marker, 'utf16le'),
    Buffer.from(b.toString('hex')),
    Buffer.from(b.toString('hex').toUpperCase()),
  ];
  for (const pad of ['', 'x', 'xx'])
    for (const enc of ['base64', 'base64url'] as const) {
      const text = Buffer.from(pad + marker).toString(enc);
      // Drop the characters that depend on the bytes around the marker.
      out.push(Buffer.from(text.slice(pad ? 4 : 0, text.length - 4)));
    }
  return out;
}

const TURNS = 150;

describe('end-to-end encryption: with at-rest sealing OFF, the server still holds no plaintext', () => {
  const ctx = useServerWithAdmin({
    config: 'keys:\n  sealMessages: false\n',
    env: { PALISADE_E2EE_REQUIRED: 'true', PALISADE_LOG_LEVEL: 'debug' },
  });

  it('a long conversation leaves no marker in the database, its WAL or the logs, in any encoding', async () => {
    const [alice, bob] = (await createUsers(ctx.server, ctx.admin, ['ralice', 'rbob'])) as [
      PalisadeClient,
      PalisadeClient,
    ];
    const [ra, rb] = [await secureReader(alice), await secureReader(bob)];
    await Promise.all([alice.connect(), bob.connect()]);
    const conv = await alice.api.openDirect('rbob');
    const marker = (i: number) => `PLAINTEXT-MARKER-${i}-q7z`;
    for (let i = 0; i < TURNS; i++) {
      const [from, to] = i % 2 === 0 ? [ra, rb] : [rb, ra];
      await from.session.secure.sendText(conv.id, `${marker(i)} ${'lorem ipsum '.repeat(i % 7)}`);
      await waitFor(() => to.got.some((m) => m.text.startsWith(marker(i))), 15_000, `message ${i}`);
    }
    // The server really stored the messages, unsealed (the setting took), as MLS ciphertext.
    const stored = await alice.api.history(conv.id, 0, 500);
    expect(stored.filter((m) => m.kind === 'mls')).toHaveLength(TURNS);
    const db = new Database(join(ctx.server.dataDir, 'palisade.db'), { readonly: true, fileMustExist: true });
    const unsealed = db.prepare("SELECT count(*) AS n FROM messages WHERE sealed = 0 AND kind = 'mls'").get() as {
      n: number;
    };
    db.close();
    expect(unsealed.n).toBe(TURNS);
    const files = readdirSync(ctx.server.dataDir)
      .filter((f) => f.startsWith('palisade.db'))
      .map((f) => readFileSync(join(ctx.server.dataDir, f)));
    expect(files.length).toBeGreaterThanOrEqual(2); // the database and its WAL
    const haystacks = [...files, Buffer.from(ctx.server.stdout()), Buffer.from(ctx.server.stderr())];
    expect(haystacks.reduce((n, h) => n + h.length, 0)).toBeGreaterThan(100_000);
    const found: string[] = [];
    for (const i of [0, 1, 2, 17, 64, TURNS - 1])
      for (const enc of encodings(marker(i)))
        for (const [k, h] of haystacks.entries()) if (h.includes(enc)) found.push(`${marker(i)} in #${k}`);
    expect(found).toEqual([]);
    // The search can fail: it does find what the server keeps in clear (the user names), in the same files.
    expect(files.some((h) => h.includes(Buffer.from('ralice')))).toBe(true);
    for (const c of [alice, bob]) c.close();
  });
});
