import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { until } from './ready.js';
import type { Child } from './spawn.js';

const CONF = resolve(import.meta.dirname, '../ejabberd');
const ERL = ['/usr/bin/erl', '/usr/local/bin/erl'];
const SCHEMA = '/usr/share/ejabberd/sql/lite.sql';

/** Where ejabberd and what it needs are installed, or why it cannot run here. */
export type Install = { ok: true; erl: string; erlLibs: string } | { ok: false; why: string };

/** Looks for a Debian-style ejabberd install (ejabberd + erlang-p1-sqlite3), without starting anything. */
export function findEjabberd(): Install {
  const erl = ERL.find((p) => existsSync(p));
  if (erl === undefined) return { ok: false, why: 'not installed (no erl)' };
  for (const base of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib']) {
    if (!existsSync(base)) continue;
    const dir = readdirSync(base).find(
      (d) => /^ejabberd-\d/.test(d) && existsSync(join(base, d, 'ebin/ejabberd.beam')),
    );
    if (dir === undefined) continue;
    const sqlite = readdirSync('/usr/lib/erlang/lib').some((d) => d.startsWith('p1_sqlite3-'));
    if (!sqlite) return { ok: false, why: 'not installed (erlang-p1-sqlite3 missing)' };
    if (!existsSync(SCHEMA)) return { ok: false, why: `not installed (no ${SCHEMA})` };
    return { ok: true, erl, erlLibs: base };
  }
  return { ok: false, why: 'not installed' };
}

/**
 * Fills `@NAME@` placeholders; every placeholder must have a value and every value a placeholder,
 * so a renamed option cannot silently leave a template line unfilled.
 */
export function fillTemplate(template: string, vars: Record<string, string>): string {
  for (const k of Object.keys(vars))
    if (!template.includes(`@${k}@`)) throw new Error(`template has no placeholder @${k}@`);
  const out = template.replace(/@([A-Z_]+)@/g, (m, k: string) => {
    const v = vars[k];
    if (v === undefined) throw new Error(`no value for placeholder ${m}`);
    return v;
  });
  return out;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

const answers = (port: number) =>
  new Promise<boolean>((res) => {
    const c = tcpConnect({ port, host: '127.0.0.1' }, () => (c.destroy(), res(true)));
    c.once('error', () => res(false));
  });

/**
 * Starts ejabberd as a child process of this one, on loopback, in `dir` (a fresh temporary
 * directory: config, certificate, SQLite database, Mnesia spool, HOME, logs). The Erlang VM runs
 * without distribution (no node name, no cookie, no epmd), so it cannot clash with any other node.
 * Resolves once the c2s port accepts connections.
 */
export async function startEjabberd(
  install: Extract<Install, { ok: true }>,
  dir: string,
  opts: { mam: boolean },
): Promise<Child & { port: number; ca: string }> {
  // A certificate for the XMPP domain "localhost" (and 127.0.0.1), private to this run.
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'],
      ...['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,DNS:conference.localhost,IP:127.0.0.1'],
      ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    ],
    { stdio: 'ignore' },
  );
  const ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
  writeFileSync(join(dir, 'certkey.pem'), ca + readFileSync(join(dir, 'key.pem'), 'utf8'), { mode: 0o600 });
  // ejabberd 23.01 does not create its SQL schema: load Debian's SQLite schema into a new database.
  // ejabberd sets no journal or sync pragma (only foreign_keys), so SQLite's build defaults apply:
  // synchronous=FULL and, unless the file says otherwise, journal_mode=DELETE (a rollback journal,
  // several fsyncs per commit). WAL mode is stored in the file, so it is set here: ejabberd is then
  // durable as Palisade's store is: WAL, the WAL fsynced at every commit (ejabberd: synchronous=FULL).
  // BENCH_EJABBERD_SQLITE_JOURNAL=delete keeps ejabberd's out-of-the-box rollback journal instead.
  const dbFile = join(dir, 'ejabberd.db');
  const db = new Database(dbFile);
  db.pragma(`journal_mode = ${process.env.BENCH_EJABBERD_SQLITE_JOURNAL === 'delete' ? 'DELETE' : 'WAL'}`);
  db.exec(readFileSync(SCHEMA, 'utf8'));
  db.close();
  const port = await freePort();
  const config = fillTemplate(readFileSync(join(CONF, 'ejabberd.yml.tmpl'), 'utf8'), {
    CERTFILE: join(dir, 'certkey.pem'),
    SQLITE_DB: dbFile,
    PORT: String(port),
    ROOM_MAM: String(opts.mam),
    MAM: opts.mam ? readFileSync(join(CONF, 'mam.yml.part'), 'utf8') : '',
  });
  writeFileSync(join(dir, 'ejabberd.yml'), config);
  // erl execs erlexec, which execs beam.smp: the child's pid is the VM's (memory is read from it).
  const child = spawn(
    install.erl,
    [
      '-noinput',
      '-noshell',
      '+K',
      'true',
      '+P',
      '2000000',
      '-mnesia',
      'dir',
      `"${join(dir, 'mnesia')}"`,
      '-s',
      'ejabberd',
    ],
    {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: dir,
        EJABBERD_CONFIG_PATH: join(dir, 'ejabberd.yml'),
        EJABBERD_LOG_PATH: join(dir, 'ejabberd.log'),
        ERL_LIBS: install.erlLibs,
        ERL_CRASH_DUMP: join(dir, 'erl_crash.dump'),
        ERL_MAX_PORTS: '200000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  // If this process exits before stop() (an exception in a measure), the VM goes with it.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  let err = '';
  const out = (d: Buffer) => (err = (err + d.toString()).slice(-20_000));
  child.stdout?.on('data', out);
  child.stderr?.on('data', out);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stderr = () =>
    err + (existsSync(join(dir, 'ejabberd.log')) ? readFileSync(join(dir, 'ejabberd.log'), 'utf8') : '');
  let up = false;
  const probe = () => {
    void answers(port).then((ok) => (up ||= ok));
    return up ? true : undefined;
  };
  try {
    await until(probe, child, stderr, 60_000);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return {
    child,
    port,
    ca,
    stderr,
    async stop() {
      // The VM stops cleanly on SIGTERM (init:stop); it writes nothing we keep.
      process.removeListener('exit', reap);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
