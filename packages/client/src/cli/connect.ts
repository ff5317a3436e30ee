import { describeError } from './error-text.js';
import { PalisadeError } from '../errors.js';
import type { PalisadeClient } from '../client.js';
import { createNodeClient, PinMismatchError } from '../node/index.js';
import { deviceKey, readProfile, readToken, readTrust } from './profile.js';
import { die } from './prompt.js';
import { pinMismatchText, tlsOf } from './trust.js';

export { trustServer } from './trust.js';

/** A client for the saved profile and session; exits with a hint when there is none. */
export function savedClient(): PalisadeClient {
  const profile = readProfile();
  const token = readToken();
  const trust = readTrust();
  if (!profile || !trust)
    die('no profile yet: run `palisade-chat login --server https://HOST:8443 --username NAME` first.');
  if (!token) die('not logged in: run `palisade-chat login`.');
  return createNodeClient({ baseUrl: profile.server, ...tlsOf(trust), deviceKey: deviceKey(), token });
}

/** TLS verification codes (OpenSSL's, and Node's host-name check) that mean "the trust no longer holds". */
const TLS_TRUST_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS_CERT_ALTNAME_INVALID/;

/** Runs a command body and turns server errors into one clear line. */
export async function run(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    if (e instanceof PalisadeError && e.code === 'device_approval_required') {
      const id = (e.details as { deviceId?: string } | undefined)?.deviceId ?? '?';
      die(
        `this device (${id}) waits for approval: on a device you trust, run \`palisade-chat devices approve ${id}\`, then log in again here.`,
      );
    }
    if (e instanceof PalisadeError && e.code === 'network') {
      const cause = (e as { cause?: unknown }).cause;
      if (cause instanceof PinMismatchError) die(pinMismatchText(cause.pinned, cause.presented, cause.certFingerprint));
      const code = (cause as { code?: unknown } | undefined)?.code;
      if (typeof code === 'string' && TLS_TRUST_ERROR.test(code)) {
        die(
          `${describeError(e)} The saved trust no longer accepts the server's certificate (${code}): run \`palisade-chat trust\` to see what it presents, and add --fingerprint or --ca to trust it again.`,
        );
      }
    }
    if (e instanceof PalisadeError) die(describeError(e));
    if (e instanceof Error && /^no user named/.test(e.message)) die(e.message);
    throw e;
  }
}
