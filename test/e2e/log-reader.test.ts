import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const MAIN = resolve(import.meta.dirname, '../../packages/server/dist/cli/main.js');

describe('a server whose log reader goes away (walkthrough: `palisade serve | tee`, then Ctrl-C)', () => {
  it('still stops gracefully on SIGTERM once stdout and stderr are broken pipes, and leaves no lock or socket', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'palisade-epipe-')), 'data');
    const child = spawn(process.execPath, [MAIN, 'serve'], {
      env: {
        ...process.env,
        PALISADE_DATA_DIR: dataDir,
        PALISADE_PORT: '0',
        PALISADE_HOST: '127.0.0.1',
        PALISADE_METRICS_PORT: '0',
        PALISADE_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
      child.once('exit', (code, signal) => r({ code, signal })),
    );
    let out = '';
    await new Promise<void>((ready, fail) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('"msg":"ready"')) ready();
      });
      void exited.then(() => fail(new Error('the server exited before it was ready')));
    });
    // The reader goes away: every later write to stdout or stderr fails with EPIPE.
    child.stdout.destroy();
    child.stderr.destroy();
    // The shutdown logs (and prints) on broken pipes; with pino's default destination this spun forever.
    child.kill('SIGTERM');
    const deadline = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const end = await exited;
    clearTimeout(deadline);
    expect(end).toEqual({ code: 0, signal: null });
    expect(existsSync(join(dataDir, 'palisade.lock'))).toBe(false);
    expect(existsSync(join(dataDir, 'admin.sock'))).toBe(false);
  }, 60_000);
});
