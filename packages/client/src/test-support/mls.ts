import { ed25519 } from '@noble/curves/ed25519.js';
import { encodeDeviceCredential } from '@palisade/protocol';
import { toBase64Url } from '../bytes.js';
import {
  MlsError,
  type CredentialValidator,
  type DeviceIdentity,
  type MlsAdapter,
  type MlsErrorCode,
  type MlsGroup,
} from '../mls/adapter.js';
import { hex } from '../mls/ts-mls-codec.js';

/**
 * Test devices and a validator for the MLS adapter tests: each device has a real Ed25519 key and a
 * canonical DeviceCredential naming it (its organisation signature is not checked here: that is the
 * credential module's job; the adapter only has to ask).
 */
export interface TestDevice extends DeviceIdentity {
  name: string;
}

let counter = 0;

/** A new device with a fresh key and a credential for it. */
export function testDevice(name = `dev${++counter}`): TestDevice {
  const signatureSecret = ed25519.utils.randomSecretKey();
  const signaturePublic = ed25519.getPublicKey(signatureSecret);
  const credential = encodeDeviceCredential({
    v: 1,
    userId: `u-${name}`,
    username: name,
    deviceId: `d-${name}`,
    signatureKey: toBase64Url(signaturePublic),
    issuedAt: '2026-12-01T00:00:00.000Z',
    keyId: 'org-1',
    signature: 'A'.repeat(86),
  });
  return { name, credential, signatureSecret, signaturePublic };
}

/**
 * A validator that accepts exactly the trusted devices (credential bytes AND signature key), and
 * counts its calls. `refuse(d)` withdraws trust from a device.
 */
export function allowList(devices: DeviceIdentity[] = []): {
  validate: CredentialValidator;
  trust: (d: DeviceIdentity) => void;
  refuse: (d: DeviceIdentity) => void;
  calls: () => number;
} {
  const trusted = new Set(devices.map((d) => `${hex(d.credential)}:${hex(d.signaturePublic)}`));
  let calls = 0;
  return {
    validate: (credential, key) => {
      calls++;
      return Promise.resolve(trusted.has(`${hex(credential)}:${hex(key)}`));
    },
    trust: (d) => trusted.add(`${hex(d.credential)}:${hex(d.signaturePublic)}`),
    refuse: (d) => trusted.delete(`${hex(d.credential)}:${hex(d.signaturePublic)}`),
    calls: () => calls,
  };
}

/** The MlsError code a call fails with, or 'no error'; anything else thrown is rethrown. */
export async function mlsCode(p: Promise<unknown> | (() => unknown)): Promise<MlsErrorCode | 'no error'> {
  try {
    await (typeof p === 'function' ? p() : p);
    return 'no error';
  } catch (e) {
    if (e instanceof MlsError) return e.code;
    throw e;
  }
}

/** `owner` creates a group and adds the given devices in one commit; each joins from the Welcome. */
export async function groupOf(mls: MlsAdapter, owner: DeviceIdentity, name: string, ...others: DeviceIdentity[]) {
  const created = await mls.createGroup(new TextEncoder().encode(name), owner);
  const kps = await Promise.all(others.map((d) => mls.generateKeyPackage(d, 3600)));
  const commit = await mls.commit(created, { add: kps.map((k) => k.keyPackage), remove: [] });
  const joined: MlsGroup[] = [];
  for (const k of kps)
    joined.push((await mls.joinFromWelcome(commit.welcome!, (ref) => (ref === k.ref ? k.secret : undefined))).group);
  return { a: commit.group, joined, commit };
}
