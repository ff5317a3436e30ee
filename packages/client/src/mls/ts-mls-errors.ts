import {
  defaultKeyPackageEqualityConfig,
  defaultKeyRetentionConfig,
  defaultLifetimeConfig,
  defaultPaddingConfig,
  type ClientConfig,
} from 'ts-mls';
import { MlsError, type CredentialValidator } from './adapter.js';

/** What happened to the credential checks during one library call. */
export interface AuthTracker {
  refused: boolean;
}

/**
 * The ts-mls client configuration for one operation, with our authentication service.
 * SECURITY: replaces ts-mls's defaultAuthenticationService (which accepts every credential). Only
 * basic credentials are accepted, and only if the injected validator says yes; a validator that
 * throws counts as a refusal. A refusal is recorded in `tracker`, so the error the library raises
 * afterwards (a generic ValidationError) surfaces as MlsError('credential_refused').
 */
export function clientConfig(validate: CredentialValidator, retainEpochs: number, tracker: AuthTracker): ClientConfig {
  return {
    keyRetentionConfig: { ...defaultKeyRetentionConfig, retainKeysForEpochs: retainEpochs },
    lifetimeConfig: defaultLifetimeConfig,
    keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
    paddingConfig: defaultPaddingConfig,
    authService: {
      async validateCredential(credential, signaturePublicKey) {
        let ok = false;
        if (credential.credentialType === 'basic') {
          try {
            ok = (await validate(credential.identity, signaturePublicKey)) === true;
          } catch {
            ok = false;
          }
        }
        if (!ok) tracker.refused = true;
        return ok;
      },
    },
  };
}

const text = (e: unknown): string => (e instanceof Error ? e.message : '');

/**
 * Maps anything a library call threw to an MlsError with a stable code. The library's own message
 * is kept only as the message, never relied on by callers.
 */
export function toMlsError(e: unknown, tracker?: AuthTracker): MlsError {
  if (e instanceof MlsError) return e;
  if (tracker?.refused === true) return new MlsError('credential_refused', 'a member credential was refused');
  const m = text(e);
  if (/Desired gen in the past/.test(m)) return new MlsError('replay', 'message generation already used');
  if (/epoch too old|Could not validate epoch|from former epoch/.test(m))
    return new MlsError('wrong_epoch', 'message for an epoch this device does not have');
  if (/removed from group/i.test(m)) return new MlsError('not_member', 'this device is no longer in the group');
  // A CodecError after decryption (e.g. sender data that does not decrypt) is not a framing error.
  return new MlsError('invalid', m === '' ? 'rejected by the MLS library' : `rejected: ${m}`);
}

/** Runs one library operation with a fresh tracker, mapping every failure. */
export async function guarded<T>(op: (tracker: AuthTracker) => Promise<T>): Promise<T> {
  const tracker: AuthTracker = { refused: false };
  try {
    return await op(tracker);
  } catch (e) {
    throw toMlsError(e, tracker);
  }
}
