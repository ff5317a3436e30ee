import type { IncomingMessage, ServerResponse } from 'node:http';
import { AuditQuery } from '@palisade/protocol';
import { exportAudit, readExportedCheckpoints, verifyAuditChain } from '../audit/index.js';
import type { Core } from './compose.js';

/**
 * Admin-socket operations on the audit trail, for `palisade audit verify|export`. Both answer NDJSON:
 * verify sends `{"progress":{done,total}}` lines then `{"result":...}`; export sends one record a line
 * and ends with `{"end":{"records":n}}` (or `{"error":...}`).
 * SECURITY: the socket is the operator's (mode 0600); an export from it is audited as actor null.
 * Returns false when the request is not one of these.
 */
export async function handleAdminAudit(core: Core, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://admin');
  if (req.method === 'POST' && url.pathname === '/audit/verify') {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    try {
      // The checkpoints exported outside the data directory: `?checkpoints=FILE`, or audit.checkpointFile.
      const file = url.searchParams.get('checkpoints') ?? core.config.audit.checkpointFile;
      const exported = file ? await readExportedCheckpoints(file) : [];
      const result = await verifyAuditChain(core.store.db, core.sealer, {
        exported,
        onProgress: (done, total) => void res.write(`${JSON.stringify({ progress: { done, total } })}\n`),
      });
      res.end(`${JSON.stringify({ result })}\n`);
    } catch (e) {
      core.log.error({ err: e }, 'audit verify failed');
      const message = /checkpoint/.test((e as Error).message)
        ? (e as Error).message
        : 'the verification could not run; see the server log';
      res.end(`${JSON.stringify({ error: { message } })}\n`);
    }
    return true;
  }
  if (req.method === 'GET' && url.pathname === '/audit/export') {
    const q = AuditQuery.safeParse(Object.fromEntries(url.searchParams));
    if (!q.success) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'bad_request', message: q.error.issues.map((i) => i.message).join('; ') }));
      return true;
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    let n = 0;
    try {
      const access = { actorId: null, read: true, export: true, address: 'admin-socket', now: core.auth.clock.now() };
      for await (const r of exportAudit(core.store.db, core.sealer, access, q.data)) {
        n++;
        if (!res.write(`${JSON.stringify(r)}\n`)) await new Promise((ok) => res.once('drain', ok));
      }
      res.end(`${JSON.stringify({ end: { records: n } })}\n`);
    } catch (e) {
      core.log.error({ err: e }, 'audit export failed');
      res.end(`${JSON.stringify({ error: { message: 'the export failed; see the server log' } })}\n`);
    }
    return true;
  }
  return false;
}
