import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const LAUNCHER = resolve(import.meta.dirname, '../../packages/server/bin/palisade-serve');
const JEMALLOC = [
  '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
  '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2',
  '/usr/lib64/libjemalloc.so.2',
  '/usr/lib/libjemalloc.so.2',
].find(existsSync);

/** Starts the launcher, waits for the banner, returns the mapped libraries of the PID it was given, and stops it. */
async function run(
  env: Record<string, string>,
  launcher = LAUNCHER,
): Promise<{ maps: string; argv: string[]; exitCode: number | null }> {
  const child = spawn(launcher, [], {
    env: {
      ...process.env,
      NODE: process.execPath,
      PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
      PALISADE_DATA_DIR: mkdtempSync(join(tmpdir(), 'palisade-launch-')),
      PALISADE_PORT: '0',
      PALISADE_HOST: '127.0.0.1',
      PALISADE_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await expect
    .poll(() => /^Ready\. Press Ctrl-C to stop\.$/m.test(err) || child.exitCode !== null, { timeout: 30_000 })
    .toBe(true);
  // The launcher execs node, so the PID we spawned is the server itself.
  const maps = readFileSync(`/proc/${child.pid}/maps`, 'utf8');
  const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
  child.kill('SIGTERM');
  return { maps, argv, exitCode: await exited };
}

describe('bin/palisade-serve (allocator launcher)', () => {
  it.skipIf(!JEMALLOC)(
    'preloads jemalloc into the server process itself, which still stops cleanly on SIGTERM',
    async () => {
      const r = await run({});
      expect(r.maps).toContain('libjemalloc');
      expect(r.maps).toContain('node');
      expect(r.exitCode).toBe(0);
    },
    60_000,
  );

  it('PALISADE_ALLOCATOR=system leaves the allocator alone', async () => {
    const r = await run({ PALISADE_ALLOCATOR: 'system', LD_PRELOAD: '' });
    expect(r.maps).not.toContain('libjemalloc');
    expect(r.exitCode).toBe(0);
  }, 60_000);

  it('passes node --expose-gc for the heap reclaimer, and PALISADE_HEAP_RECLAIM=off does not', async () => {
    const on = await run({ PALISADE_ALLOCATOR: 'system' });
    const off = await run({ PALISADE_ALLOCATOR: 'system', PALISADE_HEAP_RECLAIM: 'off' });
    expect(on.argv).toContain('--expose-gc');
    expect(off.argv).not.toContain('--expose-gc');
    expect(off.argv).toContain('serve');
    expect([on.exitCode, off.exitCode]).toEqual([0, 0]);
  }, 90_000);

  it('refuses a PALISADE_HEAP_RECLAIM that is neither on nor off, and says which values work', async () => {
    const child = spawn(LAUNCHER, [], {
      env: { ...process.env, NODE: process.execPath, PALISADE_HEAP_RECLAIM: 'yes' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(err).toContain("PALISADE_HEAP_RECLAIM is on or off, got 'yes'");
  });

  it('runs through a relative symlink, as npm links it into node_modules/.bin (npx palisade-serve)', async () => {
    const bin = join(mkdtempSync(join(tmpdir(), 'palisade-bin-')), 'node_modules', '.bin');
    mkdirSync(bin, { recursive: true });
    const link = join(bin, 'palisade-serve');
    symlinkSync(relative(bin, LAUNCHER), link);
    const r = await run({ PALISADE_ALLOCATOR: 'system', LD_PRELOAD: '' }, link);
    expect(r.maps).toContain('node');
    expect(r.exitCode).toBe(0);
  }, 60_000);
});
