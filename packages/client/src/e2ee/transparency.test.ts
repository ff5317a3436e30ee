import { ed25519 } from '@noble/curves/ed25519.js';
import {
  credentialSigningMessage,
  encodeDeviceCredential,
  gossipSigningMessage,
  orgKeyEndorsementMessage,
  treeHeadSigningMessage,
  type DeviceCredential,
  type OrgKeyView,
  type SignedTreeHead,
} from '@palisade/protocol';
import { describe, expect, it } from 'vitest';
import { toBase64Url, utf8 } from '../bytes.js';
import { EMPTY_ROOT, leafHash, nodeHash } from './merkle.js';
import { KeyTransparency, TransparencyError, type TransparencySource, type TransparencyState } from './transparency.js';

// The test plays the server: an honest log built from the RFC 9162 definitions, which each test then
// bends into a malicious one.
const split = (n: number) => 2 ** Math.ceil(Math.log2(n) - 1);
const mth = (d: Uint8Array[]): Uint8Array =>
  d.length === 0
    ? EMPTY_ROOT
    : d.length === 1
      ? d[0]!
      : nodeHash(mth(d.slice(0, split(d.length))), mth(d.slice(split(d.length))));
const path = (m: number, d: Uint8Array[]): Uint8Array[] => {
  if (d.length <= 1) return [];
  const k = split(d.length);
  return m < k ? [...path(m, d.slice(0, k)), mth(d.slice(k))] : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
};
const subproof = (m: number, d: Uint8Array[], b: boolean): Uint8Array[] => {
  if (m === d.length) return b ? [] : [mth(d)];
  const k = split(d.length);
  return m <= k
    ? [...subproof(m, d.slice(0, k), b), mth(d.slice(k))]
    : [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
};
const b64 = toBase64Url;

interface OrgKey {
  keyId: string;
  secret: Uint8Array;
  publicKey: string;
}
const newKey = (keyId: string): OrgKey => {
  const secret = ed25519.utils.randomSecretKey();
  return { keyId, secret, publicKey: b64(ed25519.getPublicKey(secret)) };
};
const signText = (k: { secret: Uint8Array }, text: string) => b64(ed25519.sign(utf8(text), k.secret));

class FakeLog implements TransparencySource {
  keys: OrgKeyView[] = [];
  active: OrgKey;
  leaves: Uint8Array[] = [];
  credentials: Uint8Array[] = [];
  constructor() {
    this.active = newKey('k1');
    this.keys.push({ keyId: 'k1', publicKey: this.active.publicKey, createdAt: new Date(0).toISOString() });
  }
  rotate(keyId: string, endorser: OrgKey = this.active): OrgKey {
    const k = newKey(keyId);
    const endorsement = {
      keyId: endorser.keyId,
      signature: signText(endorser, orgKeyEndorsementMessage(keyId, k.publicKey)),
    };
    this.keys.push({ keyId, publicKey: k.publicKey, createdAt: new Date(1).toISOString(), endorsement });
    this.active = k;
    return k;
  }
  credential(
    deviceId: string,
    signatureKey: string,
    by: OrgKey = this.active,
    user = { userId: 'u1', username: 'alice' },
  ): Uint8Array {
    const unsigned = {
      v: 1 as const,
      userId: user.userId,
      username: user.username,
      deviceId,
      signatureKey,
      issuedAt: new Date(0).toISOString(),
      keyId: by.keyId,
    };
    const c: DeviceCredential = { ...unsigned, signature: signText(by, credentialSigningMessage(unsigned)) };
    return encodeDeviceCredential(c);
  }
  append(bytes: Uint8Array): number {
    this.leaves.push(leafHash(bytes));
    this.credentials.push(bytes);
    return this.leaves.length - 1;
  }
  headOf(leaves: Uint8Array[], key: OrgKey = this.active): SignedTreeHead {
    const unsigned = {
      treeSize: leaves.length,
      rootHash: b64(mth(leaves)),
      timestamp: new Date(0).toISOString(),
      keyId: key.keyId,
    };
    return { ...unsigned, signature: signText(key, treeHeadSigningMessage(unsigned)) };
  }
  orgKeys = () => Promise.resolve(structuredClone(this.keys));
  head = () => Promise.resolve(this.headOf(this.leaves));
  inclusion = (i: number, n: number) => Promise.resolve(path(i, this.leaves.slice(0, n)).map(b64));
  consistency = (a: number, b: number) =>
    Promise.resolve(a === 0 || a === b ? [] : subproof(a, this.leaves.slice(0, b), true).map(b64));
}

const deviceKey = () => {
  const secret = ed25519.utils.randomSecretKey();
  return { secret, publicKey: b64(ed25519.getPublicKey(secret)) };
};

async function refused(p: Promise<unknown>, code: string): Promise<void> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(TransparencyError);
  expect((e as TransparencyError).code).toBe(code);
}

/** A log with a few honest credentials already in it, and a client that verified its head. */
async function setUp(n = 5) {
  const log = new FakeLog();
  const devices = Array.from({ length: n }, () => deviceKey());
  const creds = devices.map((d, i) => log.credential(`d${i}`, d.publicKey));
  creds.forEach((c) => log.append(c));
  const saved: TransparencyState[] = [];
  const kt = new KeyTransparency(log, { orgKeys: {} }, (s) => saved.push(s));
  await kt.refreshHead();
  return { log, devices, creds, kt, saved };
}

describe('KeyTransparency against an honest log', () => {
  it('pins the root org key on first use, verifies credentials with inclusion, and persists its state', async () => {
    const { kt, creds, devices, saved, log } = await setUp();
    for (let i = 0; i < creds.length; i++) {
      const c = await kt.verifyCredential(creds[i]!, devices[i]!.publicKey, i);
      expect(c.deviceId).toBe(`d${i}`);
    }
    expect(kt.state.orgKeys).toEqual({ k1: log.active.publicKey });
    expect(saved.at(-1)?.head?.treeSize).toBe(5);
    // The log grows: the new head is proved consistent and a new credential verifies.
    const d = deviceKey();
    const at = log.append(log.credential('d9', d.publicKey));
    await expect(kt.verifyCredential(log.credentials[at]!, d.publicKey, at)).resolves.toMatchObject({ deviceId: 'd9' });
    expect(kt.state.head?.treeSize).toBe(6);
  });

  it('follows endorsed rotations, and credentials of the retired key still verify', async () => {
    const { kt, log, creds, devices } = await setUp();
    log.rotate('k2');
    log.rotate('k3');
    const d = deviceKey();
    const at = log.append(log.credential('dn', d.publicKey));
    await kt.refreshHead();
    expect(Object.keys(kt.state.orgKeys).sort()).toEqual(['k1', 'k2', 'k3']);
    await expect(kt.verifyCredential(log.credentials[at]!, d.publicKey, at)).resolves.toBeDefined();
    await expect(kt.verifyCredential(creds[0]!, devices[0]!.publicKey, 0)).resolves.toBeDefined();
  });
});

describe('KeyTransparency refuses a malicious source', () => {
  it('a head signed by a foreign key under a pinned key id: bad_signature', async () => {
    const { kt, log } = await setUp();
    const foreign = { ...newKey('x'), keyId: 'k1' };
    log.append(log.credential('dx', deviceKey().publicKey));
    log.head = () => Promise.resolve(log.headOf(log.leaves, foreign));
    await refused(kt.refreshHead(), 'bad_signature');
  });

  it('an unsigned (altered) head: bad_signature', async () => {
    const { kt, log } = await setUp();
    const h = log.headOf(log.leaves);
    log.head = () => Promise.resolve({ ...h, timestamp: new Date(5).toISOString() });
    await refused(kt.refreshHead(), 'bad_signature');
  });

  it('a head under a new key nobody endorsed (or a forged endorsement): unknown_org_key', async () => {
    const { kt, log } = await setUp();
    log.rotate('k2', newKey('k1')); // "endorsed" by a key that merely claims the pinned id
    await refused(kt.refreshHead(), 'unknown_org_key');
    const fresh = newKey('k4');
    log.keys.push({ keyId: 'k4', publicKey: fresh.publicKey, createdAt: new Date(2).toISOString() });
    log.active = fresh;
    await refused(kt.refreshHead(), 'unknown_org_key');
  });

  it('a forked head of the same size: fork', async () => {
    const { kt, log } = await setUp();
    const other = [...log.leaves];
    other[2] = leafHash(utf8('evil'));
    log.head = () => Promise.resolve(log.headOf(other));
    await refused(kt.refreshHead(), 'fork');
  });

  it('a larger head that does not extend the seen one: fork; no proof given: inconsistent', async () => {
    const { kt, log } = await setUp();
    const forked = [...log.leaves];
    forked[1] = leafHash(utf8('rewritten'));
    forked.push(leafHash(utf8('more')));
    log.head = () => Promise.resolve(log.headOf(forked));
    log.consistency = (a, b) => Promise.resolve(subproof(a, forked.slice(0, b), true).map(b64));
    await refused(kt.refreshHead(), 'fork');
    log.consistency = () => Promise.reject(new Error('kt_range'));
    await refused(kt.refreshHead(), 'inconsistent');
    expect(kt.state.head?.treeSize).toBe(5); // the refused heads were not remembered
  });

  it('a restarted client still detects a fork against the head it persisted', async () => {
    const { log, saved } = await setUp();
    const forked = [...log.leaves];
    forked[4] = leafHash(utf8('swap'));
    log.head = () => Promise.resolve(log.headOf(forked));
    await refused(new KeyTransparency(log, saved.at(-1)).refreshHead(), 'fork');
  });

  it('a credential absent from the log: not_in_log', async () => {
    const { kt, log, creds, devices } = await setUp();
    const d = deviceKey();
    const absent = log.credential('ghost', d.publicKey);
    await refused(kt.verifyCredential(absent, d.publicKey, 2), 'not_in_log');
    await refused(kt.verifyCredential(absent, d.publicKey, 99), 'not_in_log');
    log.inclusion = () => Promise.reject(new Error('no'));
    await refused(kt.verifyCredential(creds[0]!, devices[0]!.publicKey, 0), 'not_in_log');
  });

  it('a credential signed by an unknown key: unknown_org_key; by a foreign key under a pinned id: bad_signature', async () => {
    const { kt, log } = await setUp();
    const d = deviceKey();
    const byUnknown = log.credential('du', d.publicKey, newKey('rogue'));
    const byForeign = log.credential('df', d.publicKey, { ...newKey('x'), keyId: 'k1' });
    const i = log.append(byUnknown);
    const j = log.append(byForeign);
    await refused(kt.verifyCredential(byUnknown, d.publicKey, i), 'unknown_org_key');
    await refused(kt.verifyCredential(byForeign, d.publicKey, j), 'bad_signature');
  });

  it('a credential naming another signature key than the member uses: key_mismatch', async () => {
    const { kt, creds, devices } = await setUp();
    await refused(kt.verifyCredential(creds[0]!, devices[1]!.publicKey, 0), 'key_mismatch');
    await refused(kt.verifyCredential(creds[0]!, ed25519.getPublicKey(devices[1]!.secret), 0), 'key_mismatch');
  });

  it('malformed credential bytes: bad_signature', async () => {
    const { kt, devices } = await setUp();
    await refused(kt.verifyCredential(utf8('{"v":1}'), devices[0]!.publicKey, 0), 'bad_signature');
  });
});

describe('KeyTransparency.checkGossip (fork detection across devices)', () => {
  it('accepts sibling heads consistent with ours, refuses a forked one and a forged report', async () => {
    const { kt, log } = await setUp(7);
    const sib = deviceKey();
    const older = log.headOf(log.leaves.slice(0, 3));
    const report = (head: SignedTreeHead, by = sib) => ({
      deviceId: 'sib',
      head,
      signature: signText(by, gossipSigningMessage(head)),
      publicKey: sib.publicKey,
    });
    await expect(kt.checkGossip([report(older), report(log.headOf(log.leaves))])).resolves.toBeUndefined();
    const forked = [...log.leaves];
    forked[0] = leafHash(utf8('other view'));
    await refused(kt.checkGossip([report(log.headOf(forked))]), 'fork');
    await refused(kt.checkGossip([report(log.headOf(forked.slice(0, 3)))]), 'fork');
    await refused(kt.checkGossip([report(older, deviceKey())]), 'bad_signature');
    // A sibling saw a bigger tree than the server will show us: a split view.
    const bigger = [...log.leaves, leafHash(utf8('hidden from us'))];
    await refused(kt.checkGossip([report(log.headOf(bigger))]), 'fork');
  });
});

describe('KeyTransparency.verifyDirectory', () => {
  async function directory() {
    const { kt, log, creds } = await setUp(3);
    const bobKey = deviceKey();
    const bob = { userId: 'u2', username: 'bob' };
    const bobCred = log.credential('b1', bobKey.publicKey, log.active, bob);
    const at = log.append(bobCred);
    const dir = {
      head: log.headOf(log.leaves),
      users: [
        {
          userId: 'u1',
          username: 'alice',
          devices: creds.map((c, i) => ({ deviceId: `d${i}`, credential: b64(c), leafIndex: i })),
        },
        { ...bob, devices: [{ deviceId: 'b1', credential: b64(bobCred), leafIndex: at }] },
      ],
    };
    return { kt, log, dir, bobKey };
  }

  it('verifies every listed device and returns its credential bytes and key', async () => {
    const { kt, dir, bobKey } = await directory();
    const devices = await kt.verifyDirectory(dir);
    expect(devices.map((d) => d.deviceId)).toEqual(['d0', 'd1', 'd2', 'b1']);
    expect(devices[3]!.credential.signatureKey).toBe(bobKey.publicKey);
    expect(b64(devices[3]!.credentialBytes)).toBe(dir.users[1]!.devices[0]!.credential);
  });

  it("refuses bob's credential listed as alice's device (key_mismatch), a forked head, an absent leaf", async () => {
    const a = await directory();
    const swapped = structuredClone(a.dir);
    swapped.users[0]!.devices[0]!.credential = a.dir.users[1]!.devices[0]!.credential;
    await refused(a.kt.verifyDirectory(swapped), 'key_mismatch');
    const forked = [...a.log.leaves];
    forked[0] = leafHash(utf8('x'));
    await refused(a.kt.verifyDirectory({ ...a.dir, head: a.log.headOf(forked) }), 'fork');
    const ghost = a.log.credential('g', deviceKey().publicKey);
    const absent = structuredClone(a.dir);
    absent.users[0]!.devices.push({ deviceId: 'g', credential: b64(ghost), leafIndex: 1 });
    await refused(a.kt.verifyDirectory(absent), 'not_in_log');
  });
});
