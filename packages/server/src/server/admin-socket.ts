import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { CreateInviteRequest } from '@palisade/protocol';
import { createInvite, revokeSessions } from '../auth/index.js';
import { toHttpError } from '../http/index.js';
import { rotateOrgKey } from '../transparency/index.js';
import { handleDrillAdmin } from './admin-drills.js';
import type { Core } from './compose.js';
import { handleAdminAudit } from './admin-audit.js';

const InviteBody = CreateInviteRequest;

async function readJson(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 16_384) throw new Error('too large');
  }
  return text ? JSON.parse(text) : {};
}

/**
 * The admin API for the local CLI, on a unix socket with mode 0600 in the data directory.
 * SECURITY: trust comes from file permissions (only the server's OS user can connect); it is never
 * exposed on the network.
 */
export async function startAdminSocket(core: Core, stats: () => Record<string, unknown>): Promise<Server> {
  const path = core.adminSocketPath;
  if (existsSync(path)) {
    // SECURITY: never take over (and later remove) a socket another live server answers on.
    if (await answers(path))
      throw new Error(`another server answers on the admin socket ${path}; give this one its own server.adminSocket`);
    unlinkSync(path); // left behind by a server that was killed
  }
  const server = createServer((req, res) => void handle(core, stats, req, res));
  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));
  } finally {
    process.umask(oldMask);
  }
  chmodSync(path, 0o600);
  return server;
}

/** True when something accepts connections on the unix socket at `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((res) => {
    const c = connect(path);
    c.once('connect', () => {
      c.destroy();
      res(true);
    });
    c.once('error', () => res(false));
  });
}

async function handle(
  core: Core,
  stats: () => Record<string, unknown>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const send = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  try {
    const url = req.url ?? '';
    if (await handleAdminAudit(core, req, res)) return;
    if (req.method === 'GET' && url === '/status') return send(200, stats());
    if (req.method === 'GET' && url === '/keys/status') return send(200, await core.rotation.status());
    const prune = /^\/keys\/prune\?days=(\d{1,5})$/.exec(url);
    if (req.method === 'POST' && prune) return send(200, { destroyed: await core.rotation.prune(Number(prune[1])) });
    if (req.method === 'POST' && url === '/keys/rotate') return send(200, await core.rotation.rotate());
    // The organisation signing key (device credentials, tree heads): endorsed by the old one, audited.
    if (req.method === 'POST' && url === '/keys/rotate-org-key')
      return send(200, await rotateOrgKey(core.transparency, { actorId: null, address: 'admin-socket' }));
    // Re-encryption can take long: it starts here and runs on; the CLI follows it through /keys/status.
    if (req.method === 'POST' && url === '/keys/rotate?reencrypt=1')
      return send(202, await core.rotation.startReencrypt());
    if (req.method === 'POST' && url === '/invites') {
      const body = InviteBody.safeParse(await readJson(req));
      if (!body.success)
        return send(400, { code: 'bad_request', message: body.error.issues.map((i) => i.message).join('; ') });
      const inv = await createInvite(core.auth, null, body.data);
      return send(201, { token: inv.token, expiresAt: new Date(inv.expiresAt).toISOString() });
    }
    const m = /^\/users\/([a-z0-9._-]{1,32})\/revoke-sessions$/.exec(url);
    if (req.method === 'POST' && m) {
      const user = await core.store.db
        .selectFrom('users')
        .select('id')
        .where('username', '=', m[1] as string)
        .executeTakeFirst();
      if (!user) return send(404, { code: 'not_found', message: 'no such user' });
      return send(200, { revoked: await revokeSessions(core.auth, null, { userId: user.id }, 'admin-socket') });
    }
    if (await handleDrillAdmin(core, req, url, send)) return;
    send(404, { code: 'not_found', message: 'unknown admin operation' });
  } catch (e) {
    // Error kinds become statuses in http/error-map.ts only (not_found stays 404 here too).
    const { status, body } = toHttpError(e, core.log);
    send(status, body);
  }
}
