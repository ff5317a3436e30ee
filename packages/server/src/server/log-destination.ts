import { writeSync } from 'node:fs';

/** How long a line may wait for a full pipe before it is dropped (a reader that stopped reading). */
const FULL_PIPE_WAIT_MS = 100;

/**
 * A pino destination that writes each line to a file descriptor synchronously and never wedges the
 * server on its reader. pino's default destination (sonic-boom 4) retries a failed synchronous flush
 * forever on any error but EAGAIN: when the process reading stdout went away (`| tee` ended by
 * Ctrl-C, a log collector restarted), every write failed with EPIPE and the exit-time flush spun, so
 * SIGTERM never finished and the data-directory lock stayed. Here a broken pipe ends logging for the
 * rest of the process (the log is lost with its reader; audit records are in the store), and a pipe
 * that stays full for FULL_PIPE_WAIT_MS drops that one line.
 */
export function fdDestination(fd: number): { write(line: string): void; readonly broken: boolean } {
  let broken = false;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  return {
    get broken() {
      return broken;
    },
    write(line: string): void {
      if (broken) return;
      let buf = Buffer.from(line, 'utf8');
      const giveUpAt = performance.now() + FULL_PIPE_WAIT_MS;
      while (buf.length > 0) {
        try {
          buf = buf.subarray(writeSync(fd, buf));
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if ((code === 'EAGAIN' || code === 'EBUSY') && performance.now() < giveUpAt) {
            Atomics.wait(pause, 0, 0, 1);
            continue;
          }
          if (code !== 'EAGAIN' && code !== 'EBUSY') broken = true;
          return;
        }
      }
    },
  };
}
