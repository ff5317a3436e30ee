import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { palisade } from '../support/cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { enrolAdmin } from '../support/users.js';
import { softHsmToken } from '../../packages/server/src/test-support/softhsm.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));

/** A self-signed certificate and its key, made by openssl, in `dir` under `name`. */
function certPair(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

/** A 32-byte master secret in a 0600 file. */
function masterFile(): string {
  const f = join(tmp('palisade-master-'), 'master');
  writeFileSync(f, randomBytes(32).toString('base64url'), { mode: 0o600 });
  return f;
}

describe('operator: one server per data directory, checks before changes, the first-admin token', () => {
  const started: ServerProcess[] = [];
  afterAll(async () => {
    for (const s of started) if (s.child.exitCode === null) await s.kill();
  });

  it('a second server on a used data directory refuses, naming the pid and the directory; the first keeps its admin socket', async () => {
    const a = await startServerProcess();
    started.push(a);
    const env = { PALISADE_DATA_DIR: a.dataDir };
    const second = await palisade(['serve'], { ...env, PALISADE_PORT: '0', PALISADE_HOST: '127.0.0.1' });
    expect(second.code).toBe(1);
    expect(second.err).toContain(
      `cannot start: the data directory ${a.dataDir} is in use by palisade serve (pid ${a.child.pid} on `,
    );
    expect(second.err).not.toMatch(/^\s+at /m);
    // config check --connect says so too (it said "configuration OK" while serve would refuse).
    const checkSame = await palisade(['config', 'check', '--connect'], { ...env, PALISADE_PORT: '0' });
    expect(checkSame.code).toBe(2);
    expect(checkSame.err).toContain(
      `dataDir: the data directory ${a.dataDir} is in use by palisade serve (pid ${a.child.pid} on `,
    );
    // Its port, from another data directory: config check --connect and serve both say so, creating nothing.
    const other = {
      PALISADE_DATA_DIR: join(tmp('palisade-port-'), 'data'),
      PALISADE_HOST: '127.0.0.1',
      PALISADE_PORT: String(a.port),
    };
    const check = await palisade(['config', 'check', '--connect'], other);
    expect(check.err).toContain(
      `server.port: cannot listen on 127.0.0.1:${a.port} (EADDRINUSE): is a server already running there?`,
    );
    expect((await palisade(['serve'], other)).err).toMatch(
      /^cannot start: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/m,
    );
    expect(existsSync(other.PALISADE_DATA_DIR)).toBe(false);
    const status = await palisade(['admin', 'status', '--json'], env);
    expect(status.code, status.err).toBe(0);
    expect(JSON.parse(status.out)).toMatchObject({ port: a.port, store: 'sqlite' });
    const human = await palisade(['admin', 'status'], env);
    expect(human.out).toMatch(
      new RegExp(
        `^server: running, listening on port ${a.port}\\nstore: sqlite\\nuptime: (\\d+[dhms] ?)+\\nlive connections: 0 WebSockets\\n$`,
      ),
    );
    // The lock, not the admin socket, keeps offline commands away: with the socket elsewhere they still refuse.
    const backup = join(tmp('palisade-bak-'), 'b.pbak');
    expect((await palisade(['backup', 'create', '--out', backup], env)).code).toBe(0);
    const elsewhere = { ...env, PALISADE_ADMIN_SOCKET: join(tmp('palisade-sock-'), 'none.sock') };
    const restore = await palisade(['backup', 'restore', backup, '--force'], elsewhere);
    expect(restore.code).toBe(1);
    expect(restore.err).toMatch(/restore failed: the data directory .* is in use by palisade serve \(pid \d+/);
    const change = await palisade(['keys', 'change-master-secret', '--new', `secret://file${masterFile()}`], elsewhere);
    expect(change.err).toMatch(/cannot change the master secret: the data directory .* is in use by palisade serve/);
    expect((await palisade(['admin', 'status', '--json'], env)).code).toBe(0);
    // A failed restore into a new data directory (this server's master secret is not given) leaves nothing.
    const fresh = join(tmp('palisade-restore-'), 'data');
    const failed = await palisade(['backup', 'restore', backup], { PALISADE_DATA_DIR: fresh });
    expect(failed.code).toBe(1);
    expect(failed.err).toMatch(/restore failed: no master secret/);
    expect(existsSync(fresh)).toBe(false);
    expect(await a.stop()).toBe(0);
    expect(existsSync(join(a.dataDir, 'palisade.lock'))).toBe(false);
  });

  it('takes over a stale lock (its process is gone) and reads secret://file/ABSOLUTE paths with one slash', async () => {
    const dataDir = tmp('palisade-stale-');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    writeFileSync(
      join(dataDir, 'palisade.lock'),
      JSON.stringify({
        pid: Number(dead),
        host: (await import('node:os')).hostname(),
        what: 'palisade serve',
        since: 'then',
      }),
    );
    const master = masterFile();
    expect(master.startsWith('/')).toBe(true);
    const s = await startServerProcess({ dataDir, env: { PALISADE_MASTER_SECRET: `secret://file${master}` } });
    started.push(s);
    expect(JSON.parse(readFileSync(join(dataDir, 'palisade.lock'), 'utf8'))).toMatchObject({ pid: s.child.pid });
    expect(existsSync(`${dataDir}.master-key`)).toBe(false); // the configured secret is used, none generated
    await s.stop();
  });

  it('a missing secret file names the path it tried, in config check and in serve alike', async () => {
    const missing = join(tmp('palisade-nofile-'), 'master');
    const env = {
      PALISADE_DATA_DIR: join(tmp('palisade-d-'), 'data'),
      PALISADE_MASTER_SECRET: `secret://file${missing}`,
    };
    const check = await palisade(['config', 'check'], env);
    expect(check.code).toBe(2);
    expect(check.err).toContain(`keys.masterSecret: secret://file${missing}: cannot read ${missing} (ENOENT)`);
    const serve = await palisade(['serve'], { ...env, PALISADE_PORT: '0' });
    expect(serve.code).toBe(1);
    expect(serve.err).toContain(
      `cannot start: secret://file${missing}: cannot read ${missing} (ENOENT) (keys.masterSecret)`,
    );
    expect(existsSync(env.PALISADE_DATA_DIR)).toBe(false);
  });

  it("config check catches an unset secret, a missing TLS file, a key that is not the certificate's, and names env variables", async () => {
    const dir = tmp('palisade-tls-');
    const a = certPair(dir, 'a');
    const b = certPair(dir, 'b');
    const base = { PALISADE_DATA_DIR: join(dir, 'data') };
    const good = await palisade(['config', 'check'], {
      ...base,
      PALISADE_TLS_CERT_FILE: a.cert,
      PALISADE_TLS_KEY_FILE: a.key,
    });
    expect(good.code, good.err).toBe(0);
    expect(good.out).toMatch(/^configuration OK: .*not connected: add --connect/);
    const r = await palisade(['config', 'check'], {
      ...base,
      PALISADE_TLS_CERT_FILE: a.cert,
      PALISADE_TLS_KEY_FILE: b.key,
      PALISADE_STORE_PASSWORD: 'secret://env/PALISADE_TEST_UNSET_PW',
    });
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      `server.tls.keyFile: the private key in ${b.key} does not belong to the certificate in ${a.cert}`,
    );
    expect(r.err).toContain(
      'store.password: secret://env/PALISADE_TEST_UNSET_PW: environment variable PALISADE_TEST_UNSET_PW is not set',
    );
    expect(r.err).not.toMatch(/error:[0-9A-F]{8}/); // no raw OpenSSL
    const nofile = await palisade(['config', 'check'], {
      ...base,
      PALISADE_TLS_CERT_FILE: join(dir, 'nope.pem'),
      PALISADE_TLS_KEY_FILE: a.key,
    });
    expect(nofile.err).toContain(`server.tls.certFile: cannot read ${join(dir, 'nope.pem')} (ENOENT)`);
    // serve refuses the same mismatch, before it creates the data directory.
    const serve = await palisade(['serve'], {
      ...base,
      PALISADE_PORT: '0',
      PALISADE_TLS_CERT_FILE: a.cert,
      PALISADE_TLS_KEY_FILE: b.key,
    });
    expect(serve.code).toBe(1);
    expect(serve.err).toMatch(/^cannot start: the private key in .* does not belong to the certificate/m);
    expect(existsSync(base.PALISADE_DATA_DIR)).toBe(false);
    const port = await palisade(['config', 'check'], { ...base, PALISADE_PORT: 'abc' });
    expect(port.code).toBe(2);
    expect(port.err).toContain('PALISADE_PORT=abc: expected a number (it sets server.port)');
    // SECURITY: a value that may be a secret pasted by mistake is never echoed.
    const pw = await palisade(['config', 'check'], { ...base, PALISADE_STORE_PASSWORD: 'hunter2-not-a-ref' });
    expect(pw.err).toContain('PALISADE_STORE_PASSWORD=(value hidden): must be secret://env/NAME or secret://file/PATH');
    expect(pw.err).not.toContain('hunter2');
  });

  it('config check --connect reaches the store, and reports one that does not answer', async () => {
    const base = { PALISADE_DATA_DIR: join(tmp('palisade-c-'), 'data') };
    const ok = await palisade(['config', 'check', '--connect'], { ...base, PALISADE_STORE_URL: PG_URL });
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/; reached the store$/m);
    const down = await palisade(['config', 'check', '--connect'], {
      ...base,
      PALISADE_STORE_URL: 'postgres://postgres@127.0.0.1:1/test',
    });
    expect(down.code).toBe(2);
    expect(down.err).toMatch(/store\.url: cannot reach PostgreSQL: ECONNREFUSED/);
    expect(
      (await palisade(['config', 'check'], { ...base, PALISADE_STORE_URL: 'postgres://postgres@127.0.0.1:1/test' }))
        .code,
    ).toBe(0);
  });

  it('a failed start (bad TLS file) leaves no data directory, no generated master secret and no migrated store', async () => {
    const schema = `ops_failed_${randomBytes(4).toString('hex')}`;
    const dataDir = join(tmp('palisade-f-'), 'data');
    const r = await palisade(['serve'], {
      PALISADE_DATA_DIR: dataDir,
      PALISADE_PORT: '0',
      PALISADE_STORE_URL: PG_URL,
      PALISADE_STORE_SCHEMA: schema,
      PALISADE_TLS_CERT_FILE: '/nonexistent/cert.pem',
      PALISADE_TLS_KEY_FILE: '/nonexistent/key.pem',
    });
    expect(r.code).toBe(1);
    expect(r.err).toContain('cannot start: cannot read /nonexistent/cert.pem (ENOENT) (server.tls.certFile)');
    expect(r.err).toContain(
      'Nothing was created or changed. Check the configuration (npx palisade config check --connect)',
    );
    expect(existsSync(dataDir)).toBe(false);
    expect(existsSync(`${dataDir}.master-key`)).toBe(false);
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      expect(
        (await c.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema])).rowCount,
      ).toBe(0);
    } finally {
      await c.end();
    }
  });

  it('with stderr not a terminal, the first-admin token goes to a 0600 file (only its path is printed), removed once used', async () => {
    const s = await startServerProcess();
    started.push(s);
    const file = join(s.dataDir, 'first-admin-token');
    expect(s.bootstrapTokenFile).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = s.bootstrapToken as string;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(s.stderr()).not.toContain(token);
    expect(s.stdout()).not.toContain(token);
    expect(s.stderr()).toContain(`Enrol with: npx palisade-chat enrol --server ${s.baseUrl} --username <name>`);
    const admin = await enrolAdmin(s);
    admin.close();
    await expect.poll(() => existsSync(file), { timeout: 10_000 }).toBe(false);
    expect(s.stderr()).not.toContain(token);
    expect(s.stdout()).not.toContain(token);
    await s.stop();
  });

  it('with stderr a terminal (a pty from script(1)), the token is printed there and no token file is written', async () => {
    const dataDir = tmp('palisade-tty-');
    const main = join(ROOT, 'packages/server/dist/cli/main.js');
    const p = spawn('script', ['-qec', `exec ${process.execPath} ${main} serve`, '/dev/null'], {
      env: {
        ...process.env,
        PALISADE_DATA_DIR: dataDir,
        PALISADE_PORT: '0',
        PALISADE_HOST: '127.0.0.1',
        PALISADE_LOG_LEVEL: 'warn',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => p.once('exit', r));
    try {
      await expect.poll(() => /Ready\. Press Ctrl-C to stop\./.test(out), { timeout: 30_000 }).toBe(true);
      expect(out.replace(/\r/g, '')).toMatch(/first admin \(valid until [^)]+\):\n {2}[A-Za-z0-9_-]{43}\n/);
      expect(existsSync(join(dataDir, 'first-admin-token'))).toBe(false);
    } finally {
      process.kill(-p.pid!, 'SIGTERM');
      await exited;
    }
  });

  it('`npx palisade` and `npx palisade-chat` run the built CLIs through the committed launchers', () => {
    const run = (args: string[]) => spawnSync('npx', ['--no-install', ...args], { cwd: ROOT, encoding: 'utf8' });
    const server = run(['palisade', '--help']);
    expect(server.status, server.stderr).toBe(0);
    expect(server.stdout).toMatch(/^Usage: palisade \[options\] \[command\]/);
    expect(server.stdout).toMatch(/config\s+inspect configuration/);
    const client = run(['palisade-chat', '--help']);
    expect(client.status, client.stderr).toBe(0);
    // Run through npx, its help names the command the way it was run (hints do the same).
    expect(client.stdout).toMatch(/^Usage: npx palisade-chat /);
    // Before `npm run build` the launcher says what to do instead of a module-not-found trace.
    const bare = join(tmp('palisade-bin-'), 'bin');
    mkdirSync(bare);
    copyFileSync(join(ROOT, 'packages/server/bin/palisade.js'), join(bare, 'palisade.js'));
    writeFileSync(join(bare, '..', 'package.json'), '{"type":"module"}');
    const unbuilt = spawnSync(process.execPath, [join(bare, 'palisade.js'), '--help'], { encoding: 'utf8' });
    expect(unbuilt.status).toBe(1);
    expect(unbuilt.stderr).toBe(
      'palisade: the server is not built yet: run `npm run build` in the repository first, then try again.\n',
    );
  });
});

const hsm = softHsmToken();
(hsm ? describe : describe.skip)('operator: config check --connect logs in to the PKCS#11 token (SoftHSM2)', () => {
  it('reports a wrong PIN and an unset PIN variable by config key, without echoing the PIN; the right PIN passes', async () => {
    const t = hsm!;
    const env = {
      SOFTHSM2_CONF: t.conf,
      PALISADE_DATA_DIR: join(tmp('palisade-hsm-'), 'data'),
      PALISADE_KEYS_PROVIDER: 'pkcs11',
      PALISADE_PKCS11_LIBRARY: t.library,
      PALISADE_PKCS11_TOKEN_LABEL: t.tokenLabel,
      PALISADE_PKCS11_PIN: 'secret://env/OPS_HSM_PIN',
      PALISADE_PKCS11_LABEL_PREFIX: `ops-${process.pid}`,
    };
    const wrong = await palisade(['config', 'check', '--connect'], { ...env, OPS_HSM_PIN: 'not-the-pin' });
    expect(wrong.code).toBe(2);
    expect(wrong.err).toContain(
      'keys.pkcs11: the PKCS#11 token: the PKCS#11 token refused the PIN (check keys.pkcs11.pin)',
    );
    expect(wrong.err).not.toContain('not-the-pin');
    const unset = await palisade(['config', 'check'], env);
    expect(unset.err).toContain(
      'keys.pkcs11.pin: secret://env/OPS_HSM_PIN: environment variable OPS_HSM_PIN is not set',
    );
    const ok = await palisade(['config', 'check', '--connect'], { ...env, OPS_HSM_PIN: t.pin });
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/reached the store and the PKCS#11 token$/m);
  });
});
