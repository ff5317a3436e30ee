import { gossipSigningMessage, type SignedTreeHead } from '@palisade/protocol';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../bytes.js';
import { b64, deviceKey, refused, setUp, signText } from '../test-support/fake-log.js';
import { leafHash } from './merkle.js';

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
