import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolveSecret, type Config } from '../config/index.js';
import { certificateKeyMatch, LocalKms, Pkcs11Kms } from '../crypto/index.js';
import { probeStore } from '../store/index.js';
import { keyringPath, storeOptions } from './compose.js';
import { defaultMasterSecretPath } from './master-secret.js';

/** One thing that keeps the server from starting, named by its config key. */
export interface Problem {
  key: string;
  message: string;
}

/** Thrown by `startServer` when the preflight finds problems; nothing was created or changed. */
export class PreflightError extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map((p) => `${p.message} (${p.key})`).join('\n'));
    this.name = 'PreflightError';
  }
}

const code = (e: unknown) => (e as NodeJS.ErrnoException).code ?? 'error';

function readable(problems: Problem[], key: string, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    accessSync(path, constants.R_OK);
    return readFileSync(path, 'utf8');
  } catch (e) {
    problems.push({ key, message: `cannot read ${path} (${code(e)})` });
    return undefined;
  }
}

/** Resolves a secret:// reference; an unset variable or unreadable file becomes a problem. */
function secret(problems: Problem[], key: string, ref: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (ref === undefined) return undefined;
  try {
    return resolveSecret(ref, env).reveal();
  } catch (e) {
    problems.push({ key, message: (e as Error).message });
    return undefined;
  }
}

/** The operator's certificate and key: both readable, a certificate, a key, and a pair. */
function checkServerTls(problems: Problem[], config: Config): void {
  const { certFile, keyFile } = config.server.tls;
  const certPem = readable(problems, 'server.tls.certFile', certFile);
  const keyPem = readable(problems, 'server.tls.keyFile', keyFile);
  if (certPem === undefined || keyPem === undefined) return;
  const match = certificateKeyMatch(certPem, keyPem);
  if (match === 'no-certificate')
    problems.push({ key: 'server.tls.certFile', message: `${certFile} holds no PEM certificate` });
  if (match === 'no-key')
    problems.push({
      key: 'server.tls.keyFile',
      message: `${keyFile} holds no PEM private key (or it is encrypted; give it unencrypted, mode 0600)`,
    });
  if (match === 'mismatch')
    problems.push({
      key: 'server.tls.keyFile',
      message: `the private key in ${keyFile} does not belong to the certificate in ${certFile}; give the key the certificate was issued for`,
    });
}

/** The local KMS: a usable master secret, and one that opens the keyring already in the data directory. */
function checkLocalKms(problems: Problem[], config: Config, env: NodeJS.ProcessEnv): void {
  const ring = keyringPath(config);
  const generated = defaultMasterSecretPath(config.dataDir);
  let value: string | undefined;
  let key = 'keys.masterSecret';
  if (config.keys.masterSecret) {
    value = secret(problems, key, config.keys.masterSecret, env);
    if (value === undefined) return;
  } else if (existsSync(generated)) {
    key = `keys.masterSecret (unset: the generated ${generated})`;
    value = readable(problems, key, generated)?.trim();
    if (value === undefined) return;
  } else {
    if (existsSync(ring))
      problems.push({
        key,
        message: `${ring} exists but no master secret is set, and ${generated} is missing: set keys.masterSecret (or PALISADE_MASTER_SECRET) to the secret that seals it`,
      });
    return; // first start: the secret is generated
  }
  const bytes = Buffer.from(value, 'base64url');
  try {
    if (bytes.length < 32)
      return void problems.push({
        key,
        message:
          'the master secret must hold at least 32 random bytes, base64url (e.g. `openssl rand 32 | basenc --base64url`)',
      });
    if (!existsSync(ring)) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(ring, 'utf8'));
    } catch (e) {
      return void problems.push({ key: 'dataDir', message: `${ring} is not readable JSON (${code(e)})` });
    }
    try {
      LocalKms.inMemory(parsed, bytes); // reads nothing, writes nothing
    } catch (e) {
      problems.push({ key, message: (e as Error).message });
    }
  } finally {
    bytes.fill(0);
  }
}

/** Binds host:port for a moment; the error code when it cannot (in use, not allowed). */
function portFree(host: string, port: number): Promise<string | undefined> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', (e) => res(code(e)));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => res(undefined)));
  });
}

/**
 * Everything `serve` needs before it may create or change anything: every secret:// reference
 * resolves, every file it names is readable, the TLS key matches its certificate, and the master
 * secret opens the keyring. With `connect`, the port is bound for a moment, and the store and the
 * PKCS#11 token are reached (a connection and a login; nothing is created). `config check` runs the same function.
 */
export async function preflight(
  config: Config,
  env: NodeJS.ProcessEnv,
  opts: { connect?: boolean } = {},
): Promise<Problem[]> {
  const problems: Problem[] = [];
  checkServerTls(problems, config);
  const s = config.store;
  secret(problems, 'store.password', s.password, env);
  readable(problems, 'store.tls.ca', s.tls?.ca);
  readable(problems, 'store.tls.cert', s.tls?.cert);
  secret(problems, 'store.tls.key', s.tls?.key, env);
  secret(problems, 'auth.oidc.clientSecret', config.auth.oidc?.clientSecret, env);
  config.auth.webauthn.attestationAllowlist.forEach((a, i) =>
    a.rootCertificateFiles.forEach((f, j) =>
      readable(problems, `auth.webauthn.attestationAllowlist.${i}.rootCertificateFiles.${j}`, f),
    ),
  );
  const p = config.keys.pkcs11;
  if (config.keys.provider === 'pkcs11' && p) {
    readable(problems, 'keys.pkcs11.library', p.library);
    const pin = secret(problems, 'keys.pkcs11.pin', p.pin, env);
    if (opts.connect && pin !== undefined && problems.length === 0) {
      try {
        Pkcs11Kms.probe({
          library: p.library,
          tokenLabel: p.tokenLabel,
          pin,
          labelPrefix: p.labelPrefix,
          now: () => Date.now(),
        });
      } catch (e) {
        problems.push({ key: 'keys.pkcs11', message: `the PKCS#11 token: ${(e as Error).message}` });
      }
    }
  } else {
    checkLocalKms(problems, config, env);
  }
  if (opts.connect && config.server.port !== 0) {
    const why = await portFree(config.server.host, config.server.port);
    if (why)
      problems.push({
        key: 'server.port',
        message: `cannot listen on ${config.server.host}:${config.server.port} (${why})${why === 'EADDRINUSE' ? ': is a server already running there?' : ''}`,
      });
  }
  if (opts.connect && !problems.some((x) => x.key.startsWith('store.'))) {
    const why = await probeStore(storeOptions(config, env));
    if (why) problems.push({ key: 'store.url', message: why });
  }
  return problems;
}
