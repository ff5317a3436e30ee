import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { confirmDestructive } from './prompt.js';

/** Runs confirmDestructive with standard input that is not a terminal; returns what it wrote and the exit code. */
async function refusedWithoutTerminal(...args: Parameters<typeof confirmDestructive>) {
  let err = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  const exit = vi.spyOn(process, 'exit').mockImplementation((code?: string | number | null) => {
    throw new Error(`exit ${String(code)}`);
  });
  await expect(confirmDestructive(...args)).rejects.toThrow('exit 1');
  expect(exit).toHaveBeenCalledTimes(1);
  return err;
}

describe('confirmDestructive', () => {
  const tty = process.stdin.isTTY;
  beforeEach(() => {
    process.stdin.isTTY = false;
    vi.stubEnv('npm_command', undefined);
    vi.stubEnv('npm_lifecycle_event', undefined);
  });
  afterEach(() => {
    process.stdin.isTTY = tty;
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('says an irreversible action cannot be undone when it refuses without a terminal', async () => {
    const err = await refusedWithoutTerminal({}, 'delete the account bob and destroy its key', 'bob');
    expect(err).toBe(
      'palisade-chat: delete the account bob and destroy its key cannot be undone, and this is not a terminal to ask in: nothing was done. Add --yes to confirm.\n',
    );
  });

  it('does not claim that a reversible action (admin disable) cannot be undone', async () => {
    const err = await refusedWithoutTerminal(
      {},
      'disable carol and end all their sessions',
      'carol',
      'palisade-chat admin enable carol',
    );
    expect(err).not.toMatch(/cannot be undone/);
    expect(err).toMatch(/needs a confirmation, and this is not a terminal to ask in: nothing was done\. Add --yes/);
  });

  it('asks nothing and returns with --yes', async () => {
    const exit = vi.spyOn(process, 'exit');
    await confirmDestructive({ yes: true }, 'disable carol', 'carol', 'palisade-chat admin enable carol');
    expect(exit).not.toHaveBeenCalled();
  });

  it('at a terminal, the question for a reversible action names the command that undoes it', async () => {
    const input = Object.assign(new PassThrough(), { isTTY: true });
    vi.spyOn(process, 'stdin', 'get').mockReturnValue(input as unknown as typeof process.stdin);
    let err = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      err += String(s);
      return true;
    });
    const asked = confirmDestructive(
      {},
      'disable carol and end all their sessions',
      'carol',
      'palisade-chat admin enable carol',
    );
    input.write('carol\n');
    await asked;
    expect(err).toContain(
      'disable carol and end all their sessions; `palisade-chat admin enable carol` undoes it. type carol or y to confirm [y/N]: ',
    );
    expect(err).not.toMatch(/cannot be undone/);
  });
});
