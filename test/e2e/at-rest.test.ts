import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { utf8, type PalisadeClient } from '@palisade/client';
import { createUsers } from '../support/users.js';
import { useServerWithAdmin } from '../support/harness.js';

/** Every encoding of `marker` a careless store could leave behind. */
function encodings(marker: string): Buffer[] {
  const b = Buffer.from(marker);
  return [b, Buffer.from(marker, 'utf16le'), Buffer.from(b.toString('base64')), Buffer.from(b.toString('base64url')), Buffer.from(b.toString('hex')), Buffer.from(b.toString('hex').toUpperCase())];
}

describe('encryption at rest: the SQLite files hold no sealed value in clear', () => {
  const ctx = useServerWithAdmin();

  it('finds no message payload and no TOTP secret in the database file or its WAL, in any encoding', async () => {
    const [ivy] = (await createUsers(ctx.server, ctx.admin, ['ivy'])) as [PalisadeClient];
    const conv = await ivy.api.openDirect('admin');
    await ivy.connect();
    const marker = 'MARKER-payload-5b1e9c-zebra-quartz';
    await ivy.send(conv.id, utf8(marker));
    const totp = await ivy.api.enrolTotp();
    // The message reads back exactly (sealed and opened by the server).
    const [m] = await ivy.api.history(conv.id);
    expect(Buffer.from(m!.payload, 'base64').toString()).toBe(marker);
    ivy.close();
    const files = readdirSync(ctx.server.dataDir).filter((f) => f.startsWith('palisade.db')).map((f) => readFileSync(join(ctx.server.dataDir, f)));
    expect(files.length).toBeGreaterThanOrEqual(2); // the database and its WAL
    for (const secret of [marker, totp.secret]) {
      for (const enc of encodings(secret)) for (const f of files) expect(f.includes(enc), `${secret} as ${enc.toString().slice(0, 12)}…`).toBe(false);
    }
  });
});
