import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

/** A child process we started and must stop. */
export interface Child {
  child: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

function track(child: ChildProcess): Child {
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Starts `palisade serve` with the given data dir, config file and extra env; resolves with its port, token and CA. */
export async function startPalisade(dataDir: string, configFile: string, env: Record<string, string> = {}): Promise<Child & { port: number; token: string; ca: string }> {
  // BENCH_SERVER_NODE_ARGS passes extra node flags to the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const extra = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...extra, join(ROOT, 'packages/server/dist/cli/main.js'), 'serve', '--config', configFile], {
    env: { ...process.env, PALISADE_DATA_DIR: dataDir, PALISADE_PORT: '0', PALISADE_METRICS_PORT: '0', PALISADE_HOST: '127.0.0.1', PALISADE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const t = track(child);
  const port = await waitFor(() => {
    const m = /listening on https:\/\/[^:]+:(\d+)/.exec(t.stderr());
    return m && /^Ready\. Press Ctrl-C to stop\.$/m.test(t.stderr()) ? Number(m[1]) : undefined;
  }, t);
  // stderr is a pipe, not a terminal: the server writes the first-admin token to a 0600 file and names it.
  const tokenFile = /^is in the file (\S+) \(mode 0600/m.exec(t.stderr())?.[1];
  const token = tokenFile !== undefined ? readFileSync(tokenFile, 'utf8').trim() : (/first admin \(valid until [^)]+\):\n\s+(\S+)/.exec(t.stderr())?.[1] ?? '');
  return { ...t, port, token, ca: readFileSync(join(dataDir, 'tls', 'cert.pem'), 'utf8') };
}

/** Starts the bare relay with the same certificate. */
export async function startRelay(dataDir: string): Promise<Child & { port: number }> {
  const child = spawn(process.execPath, [join(ROOT, 'bench/dist/relay.js'), join(dataDir, 'tls', 'cert.pem'), join(dataDir, 'tls', 'key.pem')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const t = track(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const port = await waitFor(() => {
    const m = /relay listening (\d+)/.exec(out);
    return m ? Number(m[1]) : undefined;
  }, t);
  return { ...t, port };
}

async function waitFor<T>(probe: () => T | undefined | null, t: Child): Promise<T> {
  const end = Date.now() + 30_000;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== null) return v;
    if (t.child.exitCode !== null) throw new Error(`process exited:\n${t.stderr()}`);
    if (Date.now() > end) throw new Error(`process did not start:\n${t.stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
