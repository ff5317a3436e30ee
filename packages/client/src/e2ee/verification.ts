import { decodeDeviceCredential } from '@palisade/protocol';
import { fromBase64Url } from '../bytes.js';
import { json, keys, readJson } from './local-records.js';
import type { MemberCheck } from './member-check.js';
import type { LocalStore } from './ports.js';
import { safetyNumber } from './safety-number.js';

/** Whether this device has compared safety numbers with a user, and whether they still hold. */
export type VerificationState = 'verified' | 'unverified' | 'changed';

/**
 * The safety number of this user and another, over the devices of each that pass every check
 * (organisation signature, key directory, transparency log). SECURITY: a device that fails a check is
 * left out, so it can never be part of what two people compare.
 */
export async function currentSafetyNumber(
  members: MemberCheck,
  myUserId: string,
  otherUserId: string,
): Promise<{ digits: string; myDevices: number; theirDevices: number }> {
  const keysOf = async (userId: string) => {
    const u = await members.user(userId, true);
    const out: Uint8Array[] = [];
    for (const d of u?.devices ?? []) {
      const c = decodeDeviceCredential(d.credential);
      if (!c.ok) continue;
      const key = fromBase64Url(c.value.signatureKey);
      if (await members.validate(d.credential, key)) out.push(key);
    }
    return out;
  };
  const mine = await keysOf(myUserId);
  const theirs = await keysOf(otherUserId);
  if (mine.length === 0 || theirs.length === 0) throw new Error('no verifiable devices to compare');
  return {
    digits: safetyNumber({ userId: myUserId, deviceKeys: mine }, { userId: otherUserId, deviceKeys: theirs }),
    myDevices: mine.length,
    theirDevices: theirs.length,
  };
}

type Verified = Record<string, string>;

/** Records that the person compared `digits` with `userId` out of band and they matched. */
export async function markVerified(store: LocalStore, userId: string, digits: string): Promise<void> {
  const v = (await readJson<Verified>(store, keys.verified)) ?? {};
  v[userId] = digits;
  await store.putMany([[keys.verified, json.encode(v)]]);
}

/** `verified` while the number compared last is still the current one; `changed` once devices changed. */
export async function verificationState(store: LocalStore, userId: string, digits: string): Promise<VerificationState> {
  const v = (await readJson<Verified>(store, keys.verified)) ?? {};
  const saved = v[userId];
  return saved === undefined ? 'unverified' : saved === digits ? 'verified' : 'changed';
}
