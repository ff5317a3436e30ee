import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateDeviceKey, writePrivate } from '../node/index.js';
import type { DeviceKey } from '../device-key.js';

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

const file = (name: string) => join(profileDir(), name);

export function readProfile(): Profile | undefined {
  return existsSync(file('profile.json')) ? (JSON.parse(readFileSync(file('profile.json'), 'utf8')) as Profile) : undefined;
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

/** The server certificate trusted on first use. */
export function readTrustedCert(): string | undefined {
  return existsSync(file('server-cert.pem')) ? readFileSync(file('server-cert.pem'), 'utf8') : undefined;
}

export function saveTrustedCert(pem: string): void {
  writePrivate(file('server-cert.pem'), pem);
}
