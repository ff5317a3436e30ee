import { describeError } from './error-text.js';
import { PalisadeError } from '../errors.js';
import type { PalisadeClient } from '../client.js';
import { createNodeClient, fetchServerCertificate } from '../node/index.js';
import { deviceKey, readProfile, readToken, readTrustedCert, saveTrustedCert } from './profile.js';
import { ask, die } from './prompt.js';

/**
 * Trust on first use: the first time, show the server certificate's fingerprint and keep the
 * certificate once the person (or --fingerprint) confirms it. Later runs trust only that certificate.
 */
export async function trustServer(server: string, expected?: string): Promise<string> {
  const saved = readTrustedCert();
  if (saved) return saved;
  let cert;
  try {
    cert = await fetchServerCertificate(server);
  } catch (e) {
    die(`cannot reach ${server}: ${(e as Error).message}. Is the server running?`);
  }
  const norm = (s: string) => s.replace(/[^0-9a-f]/gi, '').toUpperCase();
  if (expected !== undefined) {
    if (norm(expected) !== norm(cert.fingerprint)) die(`the server's certificate fingerprint ${cert.fingerprint} does not match --fingerprint; do not continue unless you know why.`);
  } else {
    process.stderr.write(`The server presents a certificate with SHA-256 fingerprint\n  ${cert.fingerprint}\nCompare it with the one the server printed at start.\n`);
    if (!process.stdin.isTTY) die('not a terminal: pass --fingerprint <sha256> to confirm the certificate.');
    const yes = await ask('Trust this certificate? [y/N] ');
    if (!/^y(es)?$/i.test(yes.trim())) die('certificate not trusted; nothing was sent.');
  }
  saveTrustedCert(cert.pem);
  return cert.pem;
}

/** A client for the saved profile and session; exits with a hint when there is none. */
export function savedClient(): PalisadeClient {
  const profile = readProfile();
  const token = readToken();
  const ca = readTrustedCert();
  if (!profile || !ca) die('no profile yet: run `palisade-chat login --server https://HOST:8443 --username NAME` first.');
  if (!token) die('not logged in: run `palisade-chat login`.');
  return createNodeClient({ baseUrl: profile.server, ca, deviceKey: deviceKey(), token });
}

/** Runs a command body and turns server errors into one clear line. */
export async function run(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    if (e instanceof PalisadeError && e.code === 'device_approval_required') {
      const id = (e.details as { deviceId?: string } | undefined)?.deviceId ?? '?';
      die(`this device (${id}) waits for approval: on a device you trust, run \`palisade-chat devices approve ${id}\`, then log in again here.`);
    }
    if (e instanceof PalisadeError) die(describeError(e));
    if (e instanceof Error && /^no user named/.test(e.message)) die(e.message);
    throw e;
  }
}
