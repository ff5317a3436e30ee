#!/usr/bin/env node
import { Command, Option } from 'commander';
import type { SessionGrant } from '@palisade/protocol';
import type { Api } from '../api.js';
import { createNodeClient, ssoLoopbackSignIn, SsoLoopbackTimeoutError } from '../node/index.js';
import { run, savedClient, trustServer } from './connect.js';
import {
  enrolCommand,
  loginCommand,
  trustCommand,
  type EnrolOptions,
  type LoginOptions,
  type TrustFlags,
} from './sign-in.js';
import { addAccountCommands } from './account-commands.js';
import { addAdminCommands } from './admin-commands.js';
import { formatFactor } from './factor-format.js';
import { invocationName, withInvocation } from './invocation.js';
import { addConversationCommands } from './conversation-commands.js';
import { addVerifyCommand } from './verify-command.js';
import { addStateCommands } from './state-commands.js';
import { deviceKey, readProfile, saveProfile, saveToken } from './profile.js';
import { ask, die } from './prompt.js';
import { hostname } from 'node:os';

const FINGERPRINT_HELP =
  'expected SHA-256 of the server certificate, as the server prints it (or of its public key); skips the question';
const CA_HELP = 'trust the server through this private CA certificate (PEM; saved in the profile for later commands)';
const CODE_HELP =
  'the authenticator code, if the account has a second factor (works once, expires in a minute; or give it on the line after the password); with neither and no terminal, exit code 3';

const program = new Command()
  .name(invocationName())
  .description(
    'Palisade terminal chat. Your profile (device key, session, trusted certificate) lives in $PALISADE_CHAT_HOME or ~/.palisade.',
  )
  .version('0.1.0')
  // Help and usage errors name commands the way this person runs them (see invocation.ts).
  .configureOutput({
    writeOut: (s) => process.stdout.write(withInvocation(s)),
    writeErr: (s) => process.stderr.write(withInvocation(s)),
  })
  .showHelpAfterError('(run with --help for usage)');

/** Loopback sign-on (RFC 8252): the browser on this computer hands the completion secret to our listener. */
async function ssoWithLoopback(api: Api, deviceName: string, port: number | undefined): Promise<SessionGrant> {
  if (port !== undefined && (!Number.isInteger(port) || port < 1024 || port > 65535))
    die('--loopback-port must be 1024 to 65535');
  try {
    return await ssoLoopbackSignIn(api, {
      deviceName,
      platform: process.platform,
      ...(port === undefined ? {} : { port }),
      onBrowserUrl: (url, expiresAt) => {
        process.stderr.write(
          `Open this link in a browser on THIS computer within 3 minutes, then sign in (the sign-on is valid until ${expiresAt}).\n` +
            `It works once and signs in this device only; never open a sign-in link someone sent you.\n  ${url}\nWaiting for the browser...`,
        );
      },
    });
  } catch (e) {
    if (e instanceof SsoLoopbackTimeoutError) die(e.message);
    throw e;
  }
}

/** The link-only sign-on (--no-loopback): the browser must be on this computer's network; poll until done. */
async function ssoByPolling(api: Api, deviceName: string): Promise<SessionGrant> {
  const start = await api.ssoStart(deviceName, process.platform);
  process.stderr.write(
    `Open this link within 3 minutes, in a browser on this computer's network, then sign in (the sign-on is valid until ${start.expiresAt}).\n` +
      `It works once and signs in this device only; never open a sign-in link someone sent you.\n  ${start.browserUrl}\nWaiting`,
  );
  for (;;) {
    const grant = await api.ssoComplete(start.ssoId);
    if (grant) return grant;
    if (Date.now() > Date.parse(start.expiresAt)) die('the sign-on expired; run `palisade-chat sso` again.');
    process.stderr.write('.');
    await new Promise((r) => setTimeout(r, 2000));
  }
}

const mfa = program.command('mfa').description('manage your second factors');
mfa
  .command('enrol')
  .description('add an authenticator app (TOTP); prints the secret and one-time recovery codes')
  .action(() =>
    run(async () => {
      const client = savedClient();
      const t = await client.api.enrolTotp();
      process.stdout.write(`Add this to your authenticator app:\n  ${t.uri}\n  (secret ${t.secret})\n`);
      const code = (await ask('Code shown by the app: ')).trim();
      const { recoveryCodes } = await client.api.confirmTotp(t.id, code);
      process.stdout.write(
        recoveryCodes
          ? `Enrolled. Recovery codes (each works once; store them offline now):\n${recoveryCodes.map((c) => `  ${c}`).join('\n')}\n`
          : 'Enrolled. Your recovery codes are unchanged. Your other sessions have ended.\n',
      );
    }),
  );
mfa
  .command('remove <id>')
  .description(
    'remove a factor, an authenticator app or a passkey, by the id `mfa list` shows (run `palisade-chat step-up` first; other sessions end)',
  )
  .action((id: string) =>
    run(async () => {
      await savedClient().api.removeFactor(id);
      process.stderr.write(`removed factor ${id}; your other sessions have ended\n`);
    }),
  );
program
  .command('password')
  .description('change your password (8+ characters with a second factor, else 15+; other sessions end)')
  .action(() =>
    run(async () => {
      const current = await ask('Current password: ', true);
      const next = await ask('New password: ', true);
      if (process.stdin.isTTY && (await ask('Repeat new password: ', true)) !== next) die('the passwords differ.');
      await savedClient().api.changePassword(current, next);
      process.stderr.write('password changed; your other sessions have ended\n');
    }),
  );
mfa
  .command('list')
  .description('list your factors: authenticator apps and passkeys (check for any you do not recognise)')
  .action(() =>
    run(async () => {
      const f = await savedClient().api.factors();
      for (const x of f.factors) process.stdout.write(`${formatFactor(x)}\n`);
      process.stdout.write(`${f.recoveryCodesLeft} recovery codes left\n`);
    }),
  );

program
  .command('enrol')
  .description(
    "create your account with an enrolment or invite token, then log in (the token is asked for, or read from a file or stdin; never from the command line). The token is checked before any password prompt: an invite that still awaits a second admin's approval says so",
  )
  .requiredOption('--server <url>', 'server URL, e.g. https://chat.example.org:8443')
  .option('--token-file <file>', 'read the one-time token from this file (mode 0600)')
  .option(
    '--token-stdin',
    'read the one-time token from the first line of standard input (the password, if piped, on the next)',
  )
  .addOption(new Option('--token <token>').hideHelp())
  .requiredOption('--username <name>', 'lower-case letters, digits, . _ -')
  .option('--display-name <name>', 'name shown to others')
  .option('--fingerprint <sha256>', FINGERPRINT_HELP)
  .option('--ca <file>', CA_HELP)
  .option('--password-stdin', 'read the password from standard input')
  .action((o: EnrolOptions) => run(() => enrolCommand(o)));

program
  .command('login')
  .description('log in on this device')
  .option('--server <url>', 'server URL (default: the saved one)')
  .option('--username <name>', 'your user name (default: the saved one)')
  .option(
    '--fingerprint <sha256>',
    `${FINGERPRINT_HELP}; also replaces a changed key when it names the new certificate`,
  )
  .option('--ca <file>', CA_HELP)
  .option(
    '--password-stdin',
    'read the password from the first line of standard input (a second factor from the next line)',
  )
  .option('--code <code>', CODE_HELP)
  .action((o: LoginOptions) => run(() => loginCommand(o)));

program
  .command('trust')
  .description(
    'show how this profile trusts the server and check it again; after a certificate change, replace the trusted key once you confirmed the new fingerprint',
  )
  .option('--server <url>', 'server URL (default: the saved one)')
  .option(
    '--fingerprint <sha256>',
    'the certificate SHA-256 the server printed at start (colons and case do not matter)',
  )
  .option('--ca <file>', CA_HELP)
  .action((o: TrustFlags & { server?: string }) => run(() => trustCommand(o)));

program
  .command('sso')
  .description(
    "log in on this device through your organisation's single sign-on (prints a link to open in the browser on this computer)",
  )
  .option('--server <url>', 'server URL (default: the saved one)')
  .option('--fingerprint <sha256>', FINGERPRINT_HELP)
  .option('--ca <file>', CA_HELP)
  .option(
    '--no-loopback',
    "do not wait for the browser on 127.0.0.1 (for a CLI on a remote host over SSH: the link must then be opened from that host's network)",
  )
  .option(
    '--loopback-port <port>',
    'listen on this port instead of an ephemeral one (to forward it with ssh -L)',
    (v) => Number(v),
  )
  .action((o: TrustFlags & { server?: string; loopback: boolean; loopbackPort?: number }) =>
    run(async () => {
      const server = o.server ?? readProfile()?.server ?? die('give --server https://HOST:8443');
      const tls = await trustServer(server, {
        ...(o.fingerprint !== undefined ? { fingerprint: o.fingerprint } : {}),
        ...(o.ca !== undefined ? { caFile: o.ca } : {}),
      });
      const client = createNodeClient({ baseUrl: server, ...tls, deviceKey: deviceKey() });
      const deviceName = `palisade-chat on ${hostname()}`;
      const grant = o.loopback
        ? await ssoWithLoopback(client.api, deviceName, o.loopbackPort)
        : await ssoByPolling(client.api, deviceName);
      saveToken(grant.token);
      saveProfile({ ...readProfile(), server, userId: grant.userId });
      process.stderr.write(`\nsigned in (session valid until ${grant.expiresAt})\n`);
    }),
  );

program
  .command('logout')
  .description('end this session on the server')
  .action(() =>
    run(async () => {
      await savedClient().api.logout();
      saveToken(undefined);
      process.stderr.write('logged out\n');
    }),
  );

addConversationCommands(program);
addVerifyCommand(program);
addStateCommands(program);
addAccountCommands(program);
addAdminCommands(program);
await program.parseAsync(process.argv);
// Keep-alive HTTPS sockets would hold the process open after the command is done.
process.exit(process.exitCode ?? 0);
