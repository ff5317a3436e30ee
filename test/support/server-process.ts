import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitForReady } from '../../bench/src/ready.js';

const MAIN = resolve(import.meta.dirname, '../../packages/server/dist/cli/main.js');

/** A real server process started for a test. */
export interface ServerProcess {
  child: ChildProcess;
  port: number;
  baseUrl: string;
  dataDir: string;
  /** PEM of the server's self-signed certificate (trusted by the test clients); '' with the operator's own certificate. */
  ca: string;
  bootstrapToken: string | undefined;
  /** The Prometheus listener's URL from the banner (absent with metrics.enabled: false). */
  metricsUrl: string | undefined;
  /** Where the server wrote the first-admin token (stderr is not a terminal here). */
  bootstrapTokenFile: string | undefined;
  stderr: () => string;
  stdout: () => string;
  /** Stops with SIGTERM and waits for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL, no clean-up at all. */
  kill(): Promise<void>;
}

/**
 * Config (YAML) for load tests: lifts the message budgets (S10: 20 messages a second per device by
 * default), which are a policy, not what a load test measures.
 */
export const LOAD_TEST_CONFIG = [
  'limits:',
  '  overrides:',
  ...[
    'message.send',
    'message.user',
    'message.conversation',
    'message.bytes.device',
    'message.bytes.user',
    'message.bytes.conversation',
  ].map((n) => `    '${n}': { burst: 1000000000, perSecond: 1000000000 }`),
  '',
].join('\n');

/**
 * Starts `palisade serve` as a child process on an ephemeral port. Reuses `dataDir` when given.
 * `config` is YAML written to a file of its own and passed as PALISADE_CONFIG.
 */
export async function startServerProcess(
  opts: { dataDir?: string; env?: Record<string, string>; config?: string } = {},
): Promise<ServerProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'palisade-e2e-'));
  const configEnv: Record<string, string> = {};
  if (opts.config !== undefined) {
    configEnv.PALISADE_CONFIG = join(mkdtempSync(join(tmpdir(), 'palisade-e2e-config-')), 'palisade.yaml');
    writeFileSync(configEnv.PALISADE_CONFIG, opts.config);
  }
  const child = spawn(process.execPath, [MAIN, 'serve'], {
    env: {
      ...process.env,
      PALISADE_DATA_DIR: dataDir,
      PALISADE_PORT: '0',
      PALISADE_METRICS_PORT: '0',
      PALISADE_HOST: '127.0.0.1',
      PALISADE_LOG_LEVEL: 'warn',
      // Legacy end-to-end tests send arbitrary payloads; tests of end-to-end encryption pass 'true'.
      PALISADE_E2EE_REQUIRED: 'false',
      ...configEnv,
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  // The server's JSON ready line on stdout (bench/src/ready.ts), not the human banner, which may change.
  const ready = await waitForReady(
    child,
    () => out,
    () => err,
  );
  const { port, bootstrapToken: token } = ready;
  // stderr is a pipe, not a terminal: the server writes the first-admin token to a 0600 file and
  // prints only its path (waitForReady reads it from there).
  const tokenFile = /^is in the file (\S+) \(mode 0600/m.exec(err)?.[1];
  return {
    child,
    port,
    baseUrl: `https://127.0.0.1:${port}`,
    dataDir,
    ca: existsSync(join(dataDir, 'tls', 'cert.pem')) ? readFileSync(join(dataDir, 'tls', 'cert.pem'), 'utf8') : '',
    bootstrapToken: token,
    metricsUrl: /^Metrics \(Prometheus\): (\S+)/m.exec(err)?.[1],
    bootstrapTokenFile: tokenFile,
    stderr: () => err,
    stdout: () => out,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
