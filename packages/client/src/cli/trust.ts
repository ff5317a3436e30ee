import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  fingerprintNames,
  normaliseFingerprint,
  probeServer,
  type NodeTlsOptions,
  type ServerProbe,
} from '../node/index.js';
import { readTrust, saveTrust, type Trust } from './profile.js';
import { ask, die } from './prompt.js';

/** The TLS part of a client's options, from the saved trust. */
export type TlsChoice = Pick<NodeTlsOptions, 'ca' | 'pinnedKey'>;

/** What to give the client for a saved trust. */
export function tlsOf(t: Trust): TlsChoice {
  return t.kind === 'ca' ? { ca: t.ca } : t.kind === 'pin' ? { pinnedKey: t.key } : {};
}

/** How `trustServer` may decide. */
export interface TrustOptions {
  /** `--fingerprint`: the certificate (or public-key) SHA-256 the person expects. */
  fingerprint?: string;
  /** `--ca FILE`: a private CA to trust (saved in the profile). */
  caFile?: string;
  /** `palisade-chat trust`: look again even when a CA or the system vouched before. */
  recheck?: boolean;
}

const sameOrigin = (a: string, b: string) => {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
};

/** The text for a pinned key that no longer matches: old and new, why, and the command that replaces it. */
export function pinMismatchText(pinned: string, presented: string, certFingerprint: string): string {
  return (
    'the server presents a DIFFERENT public key than the one this profile trusts.\n' +
    `  trusted key:   ${pinned}\n  presented key: ${presented}\n  certificate SHA-256 (what the server prints at start): ${certFingerprint}\n` +
    'This is expected after the server got a new key (a restore onto a new machine, a new certificate), and is\n' +
    'also what an interception looks like. Ask the administrator for the fingerprint the server printed at start;\n' +
    `only if it is the one above, replace the trusted key with:\n  palisade-chat trust --fingerprint ${certFingerprint}`
  );
}

async function probe(server: string, ca?: string): Promise<ServerProbe> {
  try {
    return await probeServer(server, ca === undefined ? {} : { ca });
  } catch (e) {
    die(`cannot reach ${server}: ${(e as Error).message}. Is the server running?`);
  }
}

function checkFingerprint(p: ServerProbe, expected: string | undefined): void {
  if (expected !== undefined && !fingerprintNames(expected, p)) {
    die(
      `the server's certificate fingerprint ${p.fingerprint} does not match --fingerprint; do not continue unless you know why.`,
    );
  }
}

async function confirm(question: string): Promise<boolean> {
  return /^y(es)?$/i.test((await ask(question)).trim());
}

/** Reads `--ca FILE`: a PEM certificate. */
function readCaFile(caFile: string): string {
  try {
    const pem = readFileSync(caFile, 'utf8');
    new X509Certificate(pem);
    return pem;
  } catch (e) {
    die(
      `cannot use --ca ${caFile}: ${(e as NodeJS.ErrnoException).code ?? 'not a PEM certificate'}. Give the CA certificate in PEM form.`,
    );
  }
}

/** A private CA (`--ca FILE`, or the saved one): the server's chain must verify against it, host name included. */
async function trustCa(
  server: string,
  pem: string,
  label: string,
  fingerprint: string | undefined,
): Promise<TlsChoice> {
  const p = await probe(server, pem);
  if (!p.authorized) {
    die(
      `the server's certificate does not verify against ${label} (${p.authorizationError ?? 'unknown'}): it was issued by "${p.issuer}". Check that this is the CA that issued it and that the URL uses a name the certificate holds.`,
    );
  }
  checkFingerprint(p, fingerprint);
  saveTrust({ server, kind: 'ca', ca: pem });
  return { ca: pem };
}

/** First use (or a re-check): a CA the system trusts, else trust on first use of a self-signed certificate. */
async function firstUse(server: string, fingerprint: string | undefined): Promise<Trust> {
  const p = await probe(server);
  if (p.authorized) {
    checkFingerprint(p, fingerprint);
    return { server, kind: 'system' };
  }
  if (p.authorizationError === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    die(
      `the server's certificate is issued by a trusted CA but does not name ${new URL(server).hostname}; use the host name the certificate was issued for.`,
    );
  }
  if (!p.selfSigned) {
    die(
      `the server's certificate does not verify (${p.authorizationError ?? 'unknown'}): it was issued by "${p.issuer}", which this computer does not trust.\n` +
        "Ask your administrator for that CA's certificate (PEM) and add --ca FILE (it is saved for later commands), or set NODE_EXTRA_CA_CERTS=FILE.",
    );
  }
  // SECURITY: trust on first use, only for a self-signed certificate, only once confirmed.
  if (fingerprint !== undefined) checkFingerprint(p, fingerprint);
  else {
    process.stderr.write(
      `The server presents a self-signed certificate with SHA-256 fingerprint\n  ${p.fingerprint}\nCompare it with the one the server printed at start.\n`,
    );
    if (!process.stdin.isTTY) die('not a terminal: pass --fingerprint <sha256> to confirm the certificate.');
    if (!(await confirm('Trust this certificate? [y/N] '))) die('certificate not trusted; nothing was sent.');
  }
  return { server, kind: 'pin', key: p.keyFingerprint };
}

/**
 * A pinned key that no longer matches. SECURITY: never accepted silently: only with `--fingerprint`
 * naming the certificate the server presents now, or a `y` typed at a terminal after the warning.
 */
async function replacePin(
  server: string,
  pinned: string,
  p: ServerProbe,
  fingerprint: string | undefined,
): Promise<Trust> {
  const text = pinMismatchText(pinned, p.keyFingerprint, p.fingerprint);
  if (!p.authorized && !p.selfSigned)
    die(
      `${text}\nThe new certificate is issued by "${p.issuer}", which this computer does not trust: add --ca FILE with that CA's certificate instead.`,
    );
  if (fingerprint !== undefined) {
    if (!fingerprintNames(fingerprint, p))
      die(`${text}\n(--fingerprint ${fingerprint} does not name it either: nothing was changed.)`);
  } else {
    if (!process.stdin.isTTY) die(text);
    process.stderr.write(`palisade-chat: ${text}\n`);
    if (!(await confirm('Replace the trusted key with the presented one? [y/N] ')))
      die('the trusted key was not changed; nothing was sent.');
  }
  process.stderr.write(`replaced the trusted key ${pinned} with ${p.keyFingerprint}\n`);
  return p.authorized ? { server, kind: 'system' } : { server, kind: 'pin', key: p.keyFingerprint };
}

/**
 * Settles how to trust `server` before anything is sent: the saved trust when it still holds, else
 * `--ca`, a CA the system trusts (Node's CAs and NODE_EXTRA_CA_CERTS), or trust on first use of a
 * self-signed certificate (its public key is pinned). Exits with what to do when none applies.
 */
export async function trustServer(server: string, o: TrustOptions = {}): Promise<TlsChoice> {
  if (o.caFile !== undefined) return trustCa(server, readCaFile(o.caFile), `--ca ${o.caFile}`, o.fingerprint);
  const saved = readTrust();
  let next: Trust;
  if (saved && sameOrigin(saved.server, server) && saved.kind === 'pin') {
    const p = await probe(server);
    if (normaliseFingerprint(p.keyFingerprint) === normaliseFingerprint(saved.key)) {
      checkFingerprint(p, o.fingerprint);
      return tlsOf(saved);
    }
    next = await replacePin(server, saved.key, p, o.fingerprint);
  } else if (saved && sameOrigin(saved.server, server) && !o.recheck && o.fingerprint === undefined) {
    return tlsOf(saved);
  } else if (saved?.kind === 'ca' && sameOrigin(saved.server, server) && (await probe(server, saved.ca)).authorized) {
    return trustCa(server, saved.ca, 'the saved CA', o.fingerprint);
  } else {
    next = await firstUse(server, o.fingerprint);
  }
  saveTrust(next);
  return tlsOf(next);
}

/** One line on how the profile trusts its server, for `palisade-chat trust`. */
export function describeTrust(t: Trust | undefined): string {
  if (!t) return 'no server trusted yet';
  if (t.kind === 'system') return `${t.server}: a certificate authority this computer trusts (host name checked)`;
  if (t.kind === 'ca')
    return `${t.server}: the private CA saved with --ca (${new X509Certificate(t.ca).subject.replace(/\n/g, ', ')})`;
  return `${t.server}: the pinned public key ${t.key} (self-signed; renewals with the same key keep working)`;
}
