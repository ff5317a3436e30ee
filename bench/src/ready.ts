import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * The start signal `palisade serve` writes to stdout once it serves: one JSON line in the log's shape,
 * `{"msg":"ready","port":N,"url":...,"fingerprint":...,"bootstrap":bool}`, at any log level. Shared by
 * the bench and the e2e tests (test/support/server-process.ts), so neither scrapes the human banner.
 */
export interface ReadyRecord {
  port: number;
  url: string;
  fingerprint: string;
  /** Whether a first-admin enrolment token was printed to stderr (the token itself is never in the record). */
  bootstrap: boolean;
}

/** The ready record among the JSON lines of `stdout`, if it is there yet. */
export function readyRecord(stdout: string): ReadyRecord | undefined {
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{') || !line.includes('"ready"')) continue;
    try {
      const r = JSON.parse(line) as Partial<ReadyRecord> & { msg?: unknown };
      if (r.msg === 'ready' && typeof r.port === 'number') return r as ReadyRecord;
    } catch {
      // a partial line: the rest comes with the next chunk
    }
  }
  return undefined;
}

/**
 * The first-admin token from the banner on stderr. SECURITY: the server shows it only on its terminal;
 * this is the one place that reads it back, for test and bench set-up.
 */
export function bootstrapTokenFrom(stderr: string): string | undefined {
  // stderr is not a terminal: the server wrote the token to a 0600 file and printed only its path.
  const file = /^is in the file (\S+) \(mode 0600/m.exec(stderr)?.[1];
  if (file !== undefined) return readFileSync(file, 'utf8').trim();
  return /first admin \(valid until [^)]+\):\n\s+(\S+)/.exec(stderr)?.[1];
}

/** Polls `probe` every few milliseconds until it gives a value; fails when the process exits or time runs out. */
export async function until<T>(
  probe: () => T | undefined,
  child: ChildProcess,
  stderr: () => string,
  timeoutMs = 30_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`server exited with ${child.exitCode ?? child.signalCode}:\n${stderr()}`);
    if (Date.now() > end) throw new Error(`server did not start within ${timeoutMs} ms:\n${stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Waits for a spawned `palisade serve` to be ready: its ready record on stdout and, when it printed a
 * bootstrap token, that token on stderr (the two pipes are read independently).
 */
export async function waitForReady(
  child: ChildProcess,
  stdout: () => string,
  stderr: () => string,
  timeoutMs = 30_000,
): Promise<ReadyRecord & { bootstrapToken: string | undefined }> {
  return until(
    () => {
      const r = readyRecord(stdout());
      if (!r) return undefined;
      const bootstrapToken = bootstrapTokenFrom(stderr());
      if (r.bootstrap && bootstrapToken === undefined) return undefined;
      return { ...r, bootstrapToken };
    },
    child,
    stderr,
    timeoutMs,
  );
}
