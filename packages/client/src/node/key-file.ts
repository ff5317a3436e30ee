import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DeviceKey } from '../device-key.js';

/**
 * Loads the device key from `path`, or creates one there with mode 0600.
 * SECURITY: refuses a key file that group or others can read.
 */
export function loadOrCreateDeviceKey(path: string): DeviceKey {
  if (existsSync(path)) {
    const mode = readMode(path);
    if ((mode & 0o077) !== 0) throw new Error(`${path} is readable by others; run chmod 600 on it`);
    return DeviceKey.import(readFileSync(path, 'utf8').trim());
  }
  const key = DeviceKey.generate();
  writePrivate(path, key.export());
  return key;
}

/** Writes a file only the current user can read (0600), creating its folder with 0700. */
export function writePrivate(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

function readMode(path: string): number {
  return statSync(path).mode & 0o777;
}
