import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../bytes.js';
import { b64, deviceKey, newKey, refused, setUp, subproof } from '../test-support/fake-log.js';
import { leafHash } from './merkle.js';
import { KeyTransparency, type TransparencyState } from './transparency.js';

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
    await refused(
      new KeyTransparency(log, JSON.parse(JSON.stringify(saved.at(-1))) as TransparencyState).refreshHead(),
      'fork',
    );
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
