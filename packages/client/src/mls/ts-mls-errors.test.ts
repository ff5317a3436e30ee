import { describe, expect, it } from 'vitest';
import { MlsError } from './adapter.js';
import { clientConfig, guarded, toMlsError } from './ts-mls-errors.js';

const err = (name: string, message: string) => Object.assign(new Error(message), { name });

describe('toMlsError', () => {
  it('maps the library messages to stable codes', () => {
    expect(toMlsError(err('ValidationError', 'Desired gen in the past')).code).toBe('replay');
    expect(toMlsError(err('ValidationError', 'Cannot process message, epoch too old')).code).toBe('wrong_epoch');
    expect(toMlsError(err('ValidationError', 'Could not validate epoch')).code).toBe('wrong_epoch');
    expect(toMlsError(err('UsageError', 'Cannot send messages after being removed from group')).code).toBe(
      'not_member',
    );
    expect(toMlsError(err('CryptoVerificationError', 'Signature invalid')).code).toBe('invalid');
    expect(toMlsError('a string').code).toBe('invalid');
    const ours = new MlsError('no_key_package', 'x');
    expect(toMlsError(ours)).toBe(ours);
  });
  it('a refusal recorded during the call wins over the library message', () => {
    expect(toMlsError(err('ValidationError', 'Could not validate credential'), { refused: true }).code).toBe(
      'credential_refused',
    );
  });
});

describe('clientConfig authService', () => {
  it('accepts only basic credentials the validator accepts, and records refusals', async () => {
    const tracker = { refused: false };
    const seen: Uint8Array[] = [];
    const cfg = clientConfig(
      (c) => {
        seen.push(c);
        return Promise.resolve(c[0] === 1);
      },
      4,
      tracker,
    );
    const key = new Uint8Array(32);
    expect(
      await cfg.authService.validateCredential({ credentialType: 'basic', identity: new Uint8Array([1]) }, key),
    ).toBe(true);
    expect(tracker.refused).toBe(false);
    expect(
      await cfg.authService.validateCredential({ credentialType: 'x509', certificates: [new Uint8Array([1])] }, key),
    ).toBe(false);
    expect(seen).toHaveLength(1);
    expect(tracker.refused).toBe(true);
    expect(cfg.keyRetentionConfig.retainKeysForEpochs).toBe(4);
  });
  it('a validator that throws refuses', async () => {
    const tracker = { refused: false };
    const cfg = clientConfig(() => Promise.reject(new Error('down')), 1, tracker);
    expect(
      await cfg.authService.validateCredential(
        { credentialType: 'basic', identity: new Uint8Array(1) },
        new Uint8Array(32),
      ),
    ).toBe(false);
    expect(tracker.refused).toBe(true);
  });
});

describe('guarded', () => {
  it('passes results through and maps failures', async () => {
    expect(await guarded(() => Promise.resolve(7))).toBe(7);
    await expect(
      guarded(() => Promise.reject(err('ValidationError', 'Desired gen in the past'))),
    ).rejects.toMatchObject({
      code: 'replay',
    });
  });
});
