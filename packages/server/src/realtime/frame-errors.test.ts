import { describe, expect, it } from 'vitest';
import { AppError, type Logger } from '../core/index.js';
import { toUpgradeRefusal } from './frame-errors.js';

function recordingLog(): Logger & { errors: unknown[] } {
  const errors: unknown[] = [];
  const log = {
    errors,
    info: () => {},
    warn: () => {},
    debug: () => {},
    error: (o: unknown) => void errors.push(o),
    child: () => log,
  } as unknown as Logger & { errors: unknown[] };
  return log;
}

describe('toUpgradeRefusal (realtime maps error kinds to upgrade statuses in this one file)', () => {
  it('answers a rate-limited upgrade with 429 and logs nothing', () => {
    const log = recordingLog();
    expect(toUpgradeRefusal(new AppError('rate_limited'), log)).toEqual({ status: 429, text: 'Too Many Requests' });
    expect(log.errors).toHaveLength(0);
  });

  it('answers an unknown error with a bare 500 and logs it with a reference', () => {
    const log = recordingLog();
    expect(toUpgradeRefusal(new Error('disk on fire'), log)).toEqual({ status: 500, text: 'Internal Server Error' });
    expect(log.errors).toHaveLength(1);
    expect(log.errors[0]).toMatchObject({ ref: expect.stringMatching(/^[\w-]{12}$/) });
  });
});
