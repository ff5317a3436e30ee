import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PalisadeClient } from '@palisade/client';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../packages/server/src/store/index.js';
import { useServerWithAdmin } from '../support/harness.js';
import { palisade } from '../support/cli.js';
import type { ServerProcess } from '../support/server-process.js';
import { deviceClient, PASS } from '../support/users.js';

/** A signed GET through the client's own request proof; returns the status and the raw body. */
function get(
  server: ServerProcess,
  c: PalisadeClient,
  path: string,
): Promise<{ status: number; text: string; type: string }> {
  const token = c.token as string;
  const headers = { authorization: `Bearer ${token}`, 'x-palisade-proof': c.api.signedProof('GET', path, token, '') };
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: server.port, method: 'GET', path, ca: server.ca, headers, agent: false },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text, type: String(res.headers['content-type'] ?? '') }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A user the operator invites over the admin socket with `grant`, enrolled and logged in. */
async function operatorUser(server: ServerProcess, username: string, grant: string): Promise<PalisadeClient> {
  const inv = await palisade(['admin', 'invite', '--grant', grant], { PALISADE_DATA_DIR: server.dataDir });
  expect(inv.code).toBe(0);
  const c = deviceClient(server);
  await c.api.enrol({ token: inv.out.trim(), username, password: PASS });
  await c.login(username, PASS, `${username} laptop`);
  return c;
}

describe('the tamper-evident audit log, end to end', () => {
  const ctx = useServerWithAdmin();

  it('reads with filters for audit.read, exports NDJSON for audit.export, audits both, and verify/export work from the CLI', async () => {
    const env = { PALISADE_DATA_DIR: ctx.server.dataDir };
    const aud = await operatorUser(ctx.server, 'audra', 'auditor');
    const comp = await operatorUser(ctx.server, 'cora', 'compliance_officer');
    const audId = (await aud.api.me()).userId;
    const page = await get(ctx.server, aud, `/v1/audit?actor=${audId}&action=login.succeeded`);
    expect(page.status).toBe(200);
    const body = JSON.parse(page.text) as { records: { seq: number; address?: string; details?: object }[] };
    expect(body.records).toHaveLength(1);
    expect(body.records[0]?.address).toBe('127.0.0.1');
    expect(body.records[0]?.details).toBeTypeOf('object');
    // The first admin manages users but holds neither audit permission (separation of duties).
    expect((await get(ctx.server, ctx.admin, '/v1/audit')).status).toBe(403);
    expect((await get(ctx.server, comp, '/v1/audit')).status).toBe(403);
    const exp = await get(ctx.server, comp, '/v1/audit/export?action=login.succeeded');
    expect(exp.status).toBe(200);
    expect(exp.type).toMatch(/ndjson/);
    const lines = exp.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines[0]).not.toHaveProperty('address'); // audit.export alone does not open sealed fields
    expect((await get(ctx.server, aud, '/v1/audit/export')).status).toBe(403);
    // Both reads are on record, with the filter.
    const reads = JSON.parse((await get(ctx.server, aud, '/v1/audit?action=audit.exported')).text) as {
      records: { actorId: string; details: { filter: object } }[];
    };
    expect(reads.records.at(-1)).toMatchObject({ details: { filter: { action: 'login.succeeded' } } });

    const verify = await palisade(['audit', 'verify'], env);
    expect(verify.err).toMatch(/audit chain intact: \d+ records/);
    expect(verify.code).toBe(0);
    const out = join(mkdtempSync(join(tmpdir(), 'palisade-audit-export-')), 'audit.ndjson');
    const cli = await palisade(['audit', 'export', '--action', 'audit.read', '--out', out], env);
    expect(cli.code).toBe(0);
    const exported = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { actorId: string });
    expect(exported.some((r) => r.actorId === audId)).toBe(true);
    expect((await palisade(['audit', 'export', '--from', 'yesterday'], env)).err).toMatch(/--from: not a time/);
    expect((await palisade(['audit', '--help'], env)).out).toMatch(/verify .*\n.*export/s);
    aud.close();
    comp.close();

    // Offline, after an edit of one stored record: exit code 2 and the first bad record named.
    await ctx.server.stop();
    const store = await openStore({ dataDir: ctx.server.dataDir });
    const victim = await store.db
      .selectFrom('audit_log')
      .select('chain_seq')
      .where('action', '=', 'login.succeeded')
      .orderBy('chain_seq')
      .executeTakeFirstOrThrow();
    await store.db
      .updateTable('audit_log')
      .set({ action: 'login.failed' })
      .where('chain_seq', '=', victim.chain_seq)
      .execute();
    await store.close();
    const tampered = await palisade(['audit', 'verify'], env);
    expect(tampered.code).toBe(2);
    expect(JSON.parse(tampered.out)).toMatchObject({ seq: Number(victim.chain_seq), problem: 'altered' });
    expect(tampered.err).toMatch(/audit chain TAMPERED: first bad record/);
  }, 120_000);
});
