import { chmodSync, existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateDeviceKey, publicKeyFingerprint, writePrivate } from '../node/index.js';
import type { DeviceKey } from '../device-key.js';
import { die } from './prompt.js';

/** What the chat client remembers between runs, in a folder only the user can read. */
export interface Profile {
  server: string;
  username?: string;
  userId?: string;
}

/** The profile folder: $PALISADE_CHAT_HOME or ~/.palisade. */
export function profileDir(): string {
  return process.env.PALISADE_CHAT_HOME ?? join(homedir(), '.palisade');
}

let checkedHome = false;

/**
 * SECURITY: the profile folder holds the device key and the session, so it is private to the user.
 * A folder made beforehand with looser permissions (e.g. `mkdir` under umask 022, 0755) is tightened
 * to 0700, with a note; the files in it are written 0600.
 */
function checkHome(dir: string): void {
  if (checkedHome) return;
  checkedHome = true;
  if (!existsSync(dir)) return;
  const mode = statSync(dir).mode & 0o777;
  if ((mode & 0o077) === 0) return;
  chmodSync(dir, 0o700);
  process.stderr.write(`note: ${dir} could be read by others (mode ${mode.toString(8)}); changed it to 700.\n`);
}

const file = (name: string) => {
  checkHome(profileDir());
  return join(profileDir(), name);
};

export function readProfile(): Profile | undefined {
  return existsSync(file('profile.json'))
    ? (JSON.parse(readFileSync(file('profile.json'), 'utf8')) as Profile)
    : undefined;
}

export function saveProfile(p: Profile): void {
  writePrivate(file('profile.json'), JSON.stringify(p, null, 2));
}

/** The device key (created with mode 0600 on first use). */
export function deviceKey(): DeviceKey {
  return loadOrCreateDeviceKey(file('device.key'));
}

/** SECURITY: the session token is kept in a 0600 file and never printed. */
export function readToken(): string | undefined {
  return existsSync(file('session')) ? readFileSync(file('session'), 'utf8').trim() : undefined;
}

export function saveToken(token: string | undefined): void {
  writePrivate(file('session'), token ?? '');
}

/**
 * How this profile trusts its server: `system` (a CA the system trusts, host name verified), `ca` (the
 * private CA saved as ca.pem by `--ca FILE`), or `pin` (a self-signed server: the SHA-256 of its
 * public key, confirmed on first use).
 */
export type Trust =
  | { server: string; kind: 'system' }
  | { server: string; kind: 'ca'; ca: string }
  | { server: string; kind: 'pin'; key: string };

/** The saved trust; a profile of an older version (server-cert.pem) is migrated on first read. */
export function readTrust(): Trust | undefined {
  if (!existsSync(file('trust.json'))) return migrateServerCert();
  let t: { server: string; kind: Trust['kind']; key?: string };
  try {
    t = JSON.parse(readFileSync(file('trust.json'), 'utf8')) as typeof t;
  } catch {
    return die(
      `${file('trust.json')} is damaged: remove it, then run \`palisade-chat trust --server URL\` to trust the server again.`,
    );
  }
  if (t.kind === 'ca')
    return existsSync(file('ca.pem'))
      ? { server: t.server, kind: 'ca', ca: readFileSync(file('ca.pem'), 'utf8') }
      : undefined;
  if (t.kind === 'pin' && typeof t.key === 'string') return { server: t.server, kind: 'pin', key: t.key };
  return t.kind === 'system' ? { server: t.server, kind: 'system' } : undefined;
}

export function saveTrust(t: Trust): void {
  if (t.kind === 'ca') writePrivate(file('ca.pem'), t.ca);
  else if (existsSync(file('ca.pem'))) rmSync(file('ca.pem'));
  writePrivate(file('trust.json'), JSON.stringify(t.kind === 'ca' ? { server: t.server, kind: 'ca' } : t, null, 2));
}

/**
 * Versions before 0.2 kept the confirmed certificate itself (server-cert.pem) as the only trusted CA.
 * A CA certificate there (the documented work-around for a private CA) becomes `ca`; a server's own
 * certificate becomes a pin of its public key, so its renewals with the same key keep working.
 */
function migrateServerCert(): Trust | undefined {
  const old = file('server-cert.pem');
  if (!existsSync(old)) return undefined;
  const pem = readFileSync(old, 'utf8');
  let x: X509Certificate;
  try {
    x = new X509Certificate(pem);
  } catch {
    return undefined; // unreadable: treated as no trust; first use asks again
  }
  const server = readProfile()?.server ?? '';
  const t: Trust = x.ca ? { server, kind: 'ca', ca: pem } : { server, kind: 'pin', key: publicKeyFingerprint(x) };
  saveTrust(t);
  rmSync(old);
  process.stderr.write(
    `note: the trusted certificate (server-cert.pem) is now ${t.kind === 'ca' ? 'the saved CA (ca.pem)' : `a pin of the server's public key ${publicKeyFingerprint(x)}`}.\n`,
  );
  return t;
}

/**
 * Moves the device key aside (device.key.old-<time>, kept 0600 as a backup) so that the next login
 * creates a new one; the session of the old key is dropped. Returns the backup's path, if any.
 */
export function resetDeviceKey(now = new Date()): string | undefined {
  saveToken(undefined);
  if (!existsSync(file('device.key'))) return undefined;
  const backup = file(`device.key.old-${now.toISOString().replace(/[:.]/g, '-')}`);
  renameSync(file('device.key'), backup);
  return backup;
}
