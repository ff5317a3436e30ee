import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { until, waitForReady } from './ready.js';

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

/**
 * Starts `palisade serve` with the given data dir, config file and extra env; resolves with its port,
 * token and CA. With `launcher`, through `packages/server/bin/palisade-serve` (the `npm start` path:
 * jemalloc and its MALLOC_CONF); extra node flags then go in NODE_OPTIONS.
 */
export async function startPalisade(
  dataDir: string,
  configFile: string,
  env: Record<string, string> = {},
  opts: { launcher?: boolean; nodeArgs?: string[] } = {},
): Promise<Child & { port: number; token: string; ca: string; stdout: () => string }> {
  // BENCH_SERVER_NODE_ARGS passes extra node flags to the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const extra = [...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean), ...(opts.nodeArgs ?? [])];
  const launcher = opts.launcher ?? false;
  const serveArgs = ['serve', '--config', configFile];
  const [command, args, viaLauncher]: [string, string[], Record<string, string>] = launcher
    ? [
        'sh',
        [join(ROOT, 'packages/server/bin/palisade-serve'), ...serveArgs.slice(1)],
        { NODE: process.execPath, NODE_OPTIONS: [process.env.NODE_OPTIONS ?? '', ...extra].join(' ').trim() },
      ]
    : [process.execPath, [...extra, join(ROOT, 'packages/server/dist/cli/main.js'), ...serveArgs], {}];
  const child = spawn(command, args, {
    env: {
      ...process.env,
      ...viaLauncher,
      PALISADE_DATA_DIR: dataDir,
      PALISADE_PORT: '0',
      PALISADE_METRICS_PORT: '0',
      PALISADE_HOST: '127.0.0.1',
      PALISADE_LOG_LEVEL: 'warn',
      // The existing benches send plain payloads (the figures without end-to-end encryption); a bench
      // through the encrypting SDK passes PALISADE_E2EE_REQUIRED=true in `env`.
      PALISADE_E2EE_REQUIRED: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const t = track(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const ready = await waitForReady(child, () => out, t.stderr);
  return {
    ...t,
    stdout: () => out,
    port: ready.port,
    token: ready.bootstrapToken ?? '',
    ca: readFileSync(join(dataDir, 'tls', 'cert.pem'), 'utf8'),
  };
}

/** Starts the bare relay with the same certificate. */
export async function startRelay(dataDir: string): Promise<Child & { port: number }> {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bench/dist/relay.js'), join(dataDir, 'tls', 'cert.pem'), join(dataDir, 'tls', 'key.pem')],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const t = track(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const port = await until(
    () => {
      const m = /relay listening (\d+)/.exec(out);
      return m ? Number(m[1]) : undefined;
    },
    child,
    t.stderr,
  );
  return { ...t, port };
}
