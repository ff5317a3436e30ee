import { request } from 'node:http';
import { GRANTABLE_ROLES, INVITE_BASE_ROLES } from '@palisade/protocol';
import { Command } from 'commander';
import { createInvite } from '../auth/index.js';
import { buildCore, changeMasterSecret } from '../server/index.js';
import { serverRunning } from './running.js';
import { adminSocketPath } from '../config/index.js';
import type { ResealReport } from '../keys/index.js';
import { adminSocketUnreachable, fail, loadOrExit } from './load.js';

function callSocket(
  path: string,
  method: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: path, method, path: url, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} }),
        );
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

async function viaSocket(configFile: string | undefined, method: string, url: string, body?: unknown) {
  const config = loadOrExit(configFile);
  const core = { path: adminSocketPath(config) };
  try {
    return await callSocket(core.path, method, url, body);
  } catch (e) {
    fail(adminSocketUnreachable(core.path, (e as NodeJS.ErrnoException).code ?? 'error', configFile));
  }
}

/** `palisade admin ...`: operator commands over the local unix socket (or offline against the store). */
export function adminCommands(): Command {
  const admin = new Command('admin').description('administer a server through its local admin socket');
  admin
    .command('invite')
    .description('create a one-time invite token for a new user')
    .option('-c, --config <file>', 'configuration file (YAML)')
    .option('--role <role>', `base role: ${INVITE_BASE_ROLES.join(' or ')}`, 'member')
    .option('--grant <roles...>', `roles granted at enrolment: ${GRANTABLE_ROLES.join(', ')}`)
    .option('--ttl-hours <n>', 'hours until the invite expires', '72')
    .option('--offline', 'write the invite straight into the store (server may be stopped)')
    .action(async (opts: { config?: string; role: string; grant?: string[]; ttlHours: string; offline?: boolean }) => {
      const role =
        INVITE_BASE_ROLES.find((r) => r === opts.role) ?? fail(`--role must be ${INVITE_BASE_ROLES.join(' or ')}`);
      const grants = opts.grant ?? [];
      for (const g of grants)
        if (!(GRANTABLE_ROLES as readonly string[]).includes(g))
          fail(`--grant: unknown role ${g}; one of ${GRANTABLE_ROLES.join(', ')}`);
      const ttlHours = Number(opts.ttlHours);
      if (!Number.isInteger(ttlHours) || ttlHours < 1 || ttlHours > 720)
        fail('--ttl-hours must be a whole number from 1 to 720');
      let token: string;
      let expiresAt: string;
      if (opts.offline) {
        const core = await buildCore(loadOrExit(opts.config), process.env);
        const inv = await createInvite(core.auth, null, { role, grants, ttlHours });
        await core.store.close();
        token = inv.token;
        expiresAt = new Date(inv.expiresAt).toISOString();
      } else {
        const r = await viaSocket(opts.config, 'POST', '/invites', { role, grants, ttlHours });
        if (r.status !== 201) fail(`invite failed: ${String(r.json.message)}`);
        token = String(r.json.token);
        expiresAt = String(r.json.expiresAt);
      }
      process.stdout.write(`${token}\n`);
      process.stderr.write(
        `one-time ${role} invite, valid until ${expiresAt}; give it to the user over a trusted channel.\n`,
      );
    });
  admin
    .command('revoke-sessions <username>')
    .description('end every session of a user; their sockets close at once')
    .option('-c, --config <file>', 'configuration file (YAML)')
    .action(async (username: string, opts: { config?: string }) => {
      const r = await viaSocket(opts.config, 'POST', `/users/${encodeURIComponent(username)}/revoke-sessions`);
      if (r.status !== 200) fail(`revoke failed: ${String(r.json.message)}`);
      process.stdout.write(`revoked ${String(r.json.revoked)} session(s) of ${username}\n`);
    });
  admin
    .command('status')
    .description('show connections, uptime and store of the running server')
    .option('-c, --config <file>', 'configuration file (YAML)')
    .option('--json', 'print the raw JSON')
    .action(async (opts: { config?: string; json?: boolean }) => {
      const r = await viaSocket(opts.config, 'GET', '/status');
      if (r.status !== 200) fail(`status failed: ${String(r.json.message)}`);
      process.stdout.write(opts.json ? `${JSON.stringify(r.json, null, 2)}\n` : formatStatus(r.json));
    });
  return admin;
}

/** `palisade keys status|rotate|rotate-org-key`: key management through the admin socket. */
export function keysCommand(): Command {
  const keys = new Command('keys').description(
    'key management: status and rotation of the key-encryption key, rotation of the organisation signing key',
  );
  keys
    .command('status')
    .description('KMS provider, KEK versions and ages, data keys per version, rotation policy and next rotation')
    .option('-c, --config <file>', 'configuration file (YAML)')
    .option('--json', 'print the raw JSON')
    .action(async (opts: { config?: string; json?: boolean }) => {
      const r = await viaSocket(opts.config, 'GET', '/keys/status');
      if (r.status !== 200) fail(`status failed: ${String(r.json.message)}`);
      process.stdout.write(
        opts.json ? `${JSON.stringify(r.json, null, 2)}\n` : formatKeyStatus(r.json as unknown as KeyStatus),
      );
    });
  keys
    .command('rotate')
    .description('create a new KEK version and rewrap every data key under it, while the server runs')
    .option('-c, --config <file>', 'configuration file (YAML)')
    .option(
      '--reencrypt',
      'also retire every data key and reseal each stored value under a new one (long; resumes after a restart)',
    )
    .action(async (opts: { config?: string; reencrypt?: boolean }) => {
      process.stderr.write(
        `rotating; data keys are rewrapped one by one${opts.reencrypt ? ', then every sealed value is resealed' : ''} (safe to interrupt: the server finishes the job at its next start)...\n`,
      );
      const r = await viaSocket(opts.config, 'POST', opts.reencrypt ? '/keys/rotate?reencrypt=1' : '/keys/rotate');
      if (r.status !== 200 && r.status !== 202) fail(`rotation failed: ${String(r.json.message)}`);
      process.stdout.write(
        `KEK version ${String(r.json.version)} is current; ${String(r.json.rewrapped)} data key(s) rewrapped\n`,
      );
      if (!opts.reencrypt) return;
      const re = await followReencrypt(opts.config, String(r.json.job));
      process.stdout.write(
        `re-encryption: ${re.resealed} value(s) resealed under new data keys, ${re.sealedLegacy} clear legacy value(s) sealed, ${re.failed} unreadable, ${re.scanned} looked at\n`,
      );
    });
  keys
    .command('rotate-org-key')
    .description(
      'replace the organisation signing key (device credentials, transparency-log heads) with a new one endorsed by it; the old key is retired but stays published, so credentials it signed still verify (audited)',
    )
    .option('-c, --config <file>', 'configuration file (YAML)')
    .action(async (opts: { config?: string }) => {
      const r = await viaSocket(opts.config, 'POST', '/keys/rotate-org-key');
      if (r.status !== 200) fail(`organisation key rotation failed: ${String(r.json.message)}`);
      process.stdout.write(
        `organisation key ${String(r.json.keyId)} is active, endorsed by ${String(r.json.previousKeyId)} (retired, still published)\n`,
      );
    });
  keys
    .command('change-master-secret')
    .description(
      're-seal the local keyring under a new master secret (stop the server first); then point keys.masterSecret at it',
    )
    .requiredOption(
      '--new <ref>',
      'the new master secret: secret://file/PATH or secret://env/NAME (32+ random bytes, base64url)',
    )
    .option('-c, --config <file>', 'configuration file (YAML)')
    .action(async (opts: { config?: string; new: string }) => {
      const config = loadOrExit(opts.config);
      if (await serverRunning(adminSocketPath(config)))
        fail('the server is running on this data directory: stop it first.');
      try {
        changeMasterSecret(config, process.env, opts.new);
      } catch (e) {
        fail(`cannot change the master secret: ${(e as Error).message}`);
      }
      process.stdout.write(`the keyring is now sealed by ${opts.new}\n`);
      process.stderr.write(
        'Next: set keys.masterSecret (or PALISADE_MASTER_SECRET) to it and start the server. Destroying the old\nsecret makes backups taken before now unreadable.\n',
      );
    });
  keys
    .command('prune')
    .description(
      'destroy KEK versions replaced more than N days ago that no live data key uses (after `rotate`); backups that need them can no longer be opened',
    )
    .requiredOption(
      '--replaced-days <n>',
      'only versions replaced at least this many days ago (match your backup retention)',
    )
    .option('-c, --config <file>', 'configuration file (YAML)')
    .action(async (opts: { config?: string; replacedDays: string }) => {
      if (!/^\d{1,5}$/.test(opts.replacedDays)) fail('--replaced-days must be a whole number of days');
      const r = await viaSocket(opts.config, 'POST', `/keys/prune?days=${opts.replacedDays}`);
      if (r.status !== 200) fail(`prune failed: ${String(r.json.message)}`);
      const d = r.json.destroyed as number[];
      process.stdout.write(
        d.length > 0
          ? `destroyed KEK version(s) ${d.join(', ')}\n`
          : 'nothing to destroy (no old version is both unused and replaced long enough ago)\n',
      );
    });
  return keys;
}

/** Follows a re-encryption the server runs, printing progress on stderr, until it finishes. */
async function followReencrypt(configFile: string | undefined, job: string): Promise<ResealReport> {
  let last = '';
  for (;;) {
    const s = (await viaSocket(configFile, 'GET', '/keys/status')).json as {
      running: { job: string; field: string; scanned: number } | null;
      lastReencrypt: { id: string; finishedAt: number | null; report: ResealReport | null } | null;
    };
    if (s.lastReencrypt?.id === job && s.lastReencrypt.finishedAt !== null && s.lastReencrypt.report)
      return s.lastReencrypt.report;
    const line =
      s.running?.job === job ? `  resealing ${s.running.field || '...'}: ${s.running.scanned} value(s) looked at` : '';
    if (line && line !== last) process.stderr.write(`${line}\n`);
    last = line;
    await new Promise((r) => setTimeout(r, 500));
  }
}

interface KeyStatus {
  provider: string;
  currentVersion: number;
  kekVersions: { version: number; createdAt: number; ageDays: number }[];
  dataKeysPerVersion: Record<string, number>;
  retiredDataKeys: number;
  destroyed: number;
  pendingRewrap: number;
  policy: { rotateEveryDays: number; autoRotate: boolean };
  nextRotationAt: number;
  overdue: boolean;
}

/** Human-readable `palisade keys status`. */
export function formatKeyStatus(s: KeyStatus): string {
  const lines = [`KMS provider: ${s.provider}`, `current KEK version: ${s.currentVersion}`, 'KEK versions:'];
  for (const v of s.kekVersions)
    lines.push(
      `  v${v.version}  created ${new Date(v.createdAt).toISOString()}  (${v.ageDays} days old)  ${s.dataKeysPerVersion[v.version] ?? 0} data key(s)`,
    );
  lines.push(
    `retired data keys: ${s.retiredDataKeys}; destroyed (crypto-shredded): ${s.destroyed}; waiting for rewrap: ${s.pendingRewrap}`,
  );
  lines.push(
    `rotation policy: every ${s.policy.rotateEveryDays} days, ${s.policy.autoRotate ? 'automatic' : 'manual (warn only)'}`,
  );
  lines.push(
    `next rotation: ${new Date(s.nextRotationAt).toISOString()}${s.overdue ? '  OVERDUE: run `npx palisade keys rotate`' : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

/** `3d 4h 5m 6s` for a number of seconds (leading zero units left out). */
function duration(total: number): string {
  const parts: [number, string][] = [
    [Math.floor(total / 86_400), 'd'],
    [Math.floor((total % 86_400) / 3600), 'h'],
    [Math.floor((total % 3600) / 60), 'm'],
    [total % 60, 's'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  return first < 0
    ? '0s'
    : parts
        .slice(first)
        .map(([n, u]) => `${n}${u}`)
        .join(' ');
}

/** Human-readable `palisade admin status`. */
export function formatStatus(s: Record<string, unknown>): string {
  const n = Number(s.connections);
  return (
    [
      `server: running, listening on port ${String(s.port)}`,
      `store: ${String(s.store)}`,
      `uptime: ${duration(Math.max(0, Math.round(Number(s.uptimeSeconds) || 0)))}`,
      `live connections: ${n} WebSocket${n === 1 ? '' : 's'}`,
    ].join('\n') + '\n'
  );
}
