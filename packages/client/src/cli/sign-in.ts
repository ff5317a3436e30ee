import { invocationName, withInvocation } from './invocation.js';
import { hostname } from 'node:os';
import type { Api } from '../api.js';
import { PalisadeError } from '../errors.js';
import { createNodeClient } from '../node/index.js';
import { describeError } from './error-text.js';
import { deviceKey, readProfile, readTrust, saveProfile, saveToken } from './profile.js';
import { openSecureSession } from './secure-session.js';
import { ask, askLine, die, EXIT_NEEDS_INPUT } from './prompt.js';
import { readEnrolToken, type TokenSource } from './secret-input.js';
import { describeTrust, trustServer, type TlsChoice, type TrustOptions } from './trust.js';

/** Options every sign-in command shares: how to trust the server. */
export interface TrustFlags {
  fingerprint?: string;
  ca?: string;
}

const trustOpts = (o: TrustFlags): TrustOptions => ({
  ...(o.fingerprint !== undefined ? { fingerprint: o.fingerprint } : {}),
  ...(o.ca !== undefined ? { caFile: o.ca } : {}),
});

/** Weak passwords get this many tries at a prompt before enrol gives up. */
const PASSWORD_TRIES = 3;

async function readPassword(opts: { passwordStdin?: boolean }, confirm: boolean): Promise<string> {
  const pw = await askLine('Password: ', true);
  // An empty line or the end of input is no password: say so here rather than send it and get bad_request.
  if (pw === undefined || pw === '')
    die(
      process.stdin.isTTY
        ? 'no password given: nothing was sent.'
        : 'no password on standard input (one line; with --token-stdin, the line after the token): nothing was sent.',
      process.stdin.isTTY ? 1 : EXIT_NEEDS_INPUT,
    );
  if (confirm && !opts.passwordStdin && process.stdin.isTTY && (await ask('Repeat password: ', true)) !== pw)
    die('the passwords differ.');
  return pw;
}

/** A typed or given answer: six digits are an authenticator code, anything else a recovery code. */
function factorOf(answer: string): { code: string } | { recoveryCode: string } {
  const a = answer.trim();
  return /^\d{6}$/.test(a) ? { code: a } : { recoveryCode: a };
}

/**
 * The second factor: `--code`, else asked at the terminal, else the next line of standard input (the
 * line after the password). SECURITY: a code on the command line is visible in the process list, but
 * it works once and expires within a minute, unlike a password; recovery codes belong on stdin.
 */
async function secondFactor(code: string | undefined): Promise<{ code: string } | { recoveryCode: string }> {
  if (code !== undefined) return factorOf(code);
  const answer = await askLine('Authentication code (6 digits) or recovery code: ', true);
  if (answer === undefined || answer.trim() === '') {
    die(
      'this account needs a second factor and none was given: add --code CODE, or put the code on the line after the password (with --password-stdin).',
      EXIT_NEEDS_INPUT,
    );
  }
  return factorOf(answer);
}

async function loginAndSave(
  server: string,
  tls: TlsChoice,
  username: string,
  password: string,
  code: string | undefined,
): Promise<void> {
  const client = createNodeClient({ baseUrl: server, ...tls, deviceKey: deviceKey() });
  saveProfile({ ...readProfile(), server, username }); // remembered even if this device must wait for approval
  const first = await client.login(username, password, `palisade-chat on ${hostname()}`, process.platform);
  const res = 'mfaRequired' in first ? await client.api.loginMfa(first.challenge, await secondFactor(code)) : first;
  saveToken(res.token);
  if (res.mfaEnrolmentDueBy)
    process.stderr.write(
      `enrol a second factor before ${res.mfaEnrolmentDueBy}: run \`${invocationName()} mfa enrol\`\n`,
    );
  saveProfile({ server, username, userId: res.userId });
  process.stderr.write(`logged in as ${username} (device ${res.deviceId}); session valid until ${res.expiresAt}\n`);
  await prepareEncryption(client);
}

/**
 * Sets this device up for end-to-end encryption right after login (its credential and KeyPackages go
 * to the server), so others can add it to their conversations before it first opens one. A failure
 * here is only a note: the next `open` tries again.
 */
async function prepareEncryption(client: ReturnType<typeof createNodeClient>): Promise<void> {
  try {
    const session = await openSecureSession(client);
    await session.close();
    process.stderr.write('end-to-end encryption is set up on this device\n');
  } catch (e) {
    process.stderr.write(
      `note: end-to-end encryption is not set up yet (${(e as Error).message}); \`${invocationName()} open\` tries again\n`,
    );
  }
}

/**
 * Says before the password prompts that a token cannot enrol: an invite a second admin has not
 * approved yet (`invite_pending`), or a token that is unknown, used or expired (`token_invalid`).
 * A server without the check (404) is asked at enrol instead; one that answers without a reason
 * (older servers) gets the message that covers both.
 */
async function assertTokenUsable(api: Api, token: string): Promise<void> {
  let answer: Awaited<ReturnType<Api['checkEnrolToken']>>;
  try {
    answer = await api.checkEnrolToken(token);
  } catch (e) {
    if (e instanceof PalisadeError && e.status === 404) return;
    throw e;
  }
  if (answer.valid) return;
  const reason: string | undefined = answer.reason; // absent from older servers
  if (reason === 'pending')
    die(
      "invite_pending: this invite carries administrative roles and waits for a second admin's approval. Ask another admin who holds role.grant (not the one who invited you) to approve it (palisade-chat admin approvals, then palisade-chat admin approve <id>), then run this enrol again with the same token (nothing else was sent).",
    );
  die(
    reason === 'invalid'
      ? 'token_invalid: this token cannot enrol: it is unknown, used or expired. Ask an admin for a new one (nothing else was sent).'
      : "token_invalid: this token cannot enrol: it is unknown, used or expired, or the invite still awaits a second admin's approval. Ask an admin for a new one (nothing else was sent).",
  );
}

/** Options of `palisade-chat enrol`. */
export type EnrolOptions = TokenSource &
  TrustFlags & { server: string; username: string; displayName?: string; passwordStdin?: boolean };

/**
 * `enrol`: the server's certificate is settled first, then the token, then the password; a weak
 * password typed at a prompt is asked again (up to 3 tries); from --password-stdin it ends the run.
 */
export async function enrolCommand(o: EnrolOptions): Promise<void> {
  const tls = await trustServer(o.server, trustOpts(o));
  // SECURITY: the token never comes from argv (world-readable in /proc/<pid>/cmdline).
  const token = await readEnrolToken(o);
  const client = createNodeClient({ baseUrl: o.server, ...tls, deviceKey: deviceKey() });
  await assertTokenUsable(client.api, token);
  for (let attempt = 1; ; attempt++) {
    const password = await readPassword(o, true);
    try {
      await client.api.enrol({
        token,
        username: o.username,
        password,
        ...(o.displayName ? { displayName: o.displayName } : {}),
      });
      return await loginAndSave(o.server, tls, o.username, password, undefined); // a new account has no second factor yet
    } catch (e) {
      if (!(e instanceof PalisadeError) || e.code !== 'weak_password' || o.passwordStdin || attempt >= PASSWORD_TRIES)
        throw e;
      process.stderr.write(
        `palisade-chat: ${withInvocation(describeError(e))} (try ${attempt + 1} of ${PASSWORD_TRIES})\n`,
      );
    }
  }
}

/** Options of `palisade-chat login`. */
export type LoginOptions = TrustFlags & { server?: string; username?: string; passwordStdin?: boolean; code?: string };

/** `login`: trust settled first, then the password and, when the account has one, the second factor. */
export async function loginCommand(o: LoginOptions): Promise<void> {
  const saved = readProfile();
  const server = o.server ?? saved?.server ?? die('give --server https://HOST:8443');
  const username = o.username ?? saved?.username ?? die('give --username');
  const tls = await trustServer(server, trustOpts(o));
  await loginAndSave(server, tls, username, await readPassword(o, false), o.code);
}

/** `trust`: shows how the server is trusted, checks it again, and replaces a changed key once confirmed. */
export async function trustCommand(o: TrustFlags & { server?: string }): Promise<void> {
  const server = o.server ?? readProfile()?.server ?? die('give --server https://HOST:8443');
  await trustServer(server, { ...trustOpts(o), recheck: true });
  if (o.server !== undefined && readProfile() === undefined) saveProfile({ server });
  process.stdout.write(`trusted: ${describeTrust(readTrust())}\n`);
}
