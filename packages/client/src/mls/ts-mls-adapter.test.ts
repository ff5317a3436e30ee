import { beforeAll, describe, expect, it } from 'vitest';
import { allowList, groupOf, mlsCode, testDevice, type TestDevice } from '../test-support/mls.js';
import { MlsError, type MlsAdapter, type MlsGroup } from './adapter.js';
import { createTsMlsAdapter } from './ts-mls-adapter.js';

const te = new TextEncoder();
const td = new TextDecoder();
const gid = (s: string) => te.encode(s);

const [alice, bob, carol] = [testDevice('alice'), testDevice('bob'), testDevice('carol')];
const trust = allowList([alice, bob, carol]);
let mls: MlsAdapter;
beforeAll(async () => {
  mls = await createTsMlsAdapter({ validate: trust.validate });
});

const code = mlsCode;
const groupOfAlice = (name: string, ...others: TestDevice[]) => groupOf(mls, alice, name, ...others);

describe('generateKeyPackage', () => {
  it('makes an MLS KeyPackage with a 32-byte hex ref, a new one each time', async () => {
    const k1 = await mls.generateKeyPackage(alice, 3600);
    const k2 = await mls.generateKeyPackage(alice, 3600);
    expect(mls.peek(k1.keyPackage).wireformat).toBe('key_package');
    expect(k1.ref).toMatch(/^[0-9a-f]{64}$/);
    expect(k1.ref).not.toBe(k2.ref);
    expect(k1.secret.length).toBeGreaterThan(100);
  });
  it('refuses a key pair that does not match and a bad lifetime', async () => {
    const other = testDevice();
    expect(await code(mls.generateKeyPackage({ ...alice, signaturePublic: other.signaturePublic }, 60))).toBe(
      'invalid',
    );
    expect(await code(mls.generateKeyPackage(alice, 0))).toBe('invalid');
    expect(await code(mls.generateKeyPackage(alice, 1.5))).toBe('invalid');
  });
});

describe('createGroup', () => {
  it('starts at epoch 0 with this device as the only member', async () => {
    const g = await mls.createGroup(gid('g-create'), alice);
    expect(g.epoch).toBe(0);
    expect(g.ownLeafIndex).toBe(0);
    expect(g.suite).toBe('MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519');
    expect(td.decode(g.groupId)).toBe('g-create');
    expect(g.members().map((m) => td.decode(m.credential))).toEqual([td.decode(alice.credential)]);
  });
  it('asks the validator about its own leaf, and refuses a bad group id', async () => {
    const stranger = testDevice('stranger');
    expect(await code(mls.createGroup(gid('g-x'), stranger))).toBe('credential_refused');
    expect(await code(mls.createGroup(new Uint8Array(0), alice))).toBe('invalid');
  });
});

describe('commit, joinFromWelcome, encrypt, process', () => {
  it('adds two devices; every member decrypts every other, with the right sender', async () => {
    const { a, joined, commit } = await groupOfAlice('g-three', bob, carol);
    const [b, c] = joined as [MlsGroup, MlsGroup];
    expect(commit.welcome).toBeDefined();
    expect(mls.peek(commit.groupInfo).wireformat).toBe('group_info');
    for (const g of [a, b, c]) expect(g.epoch).toBe(1);
    expect(b.members()).toHaveLength(3);
    const sent = await mls.encrypt(b, te.encode('hi from bob'));
    for (const g of [a, c]) {
      const got = await mls.process(g, sent.message);
      expect(got.kind).toBe('application');
      if (got.kind !== 'application') return;
      expect(td.decode(got.plaintext)).toBe('hi from bob');
      expect(got.sender.leafIndex).toBe(b.ownLeafIndex);
      expect(got.sender.credential).toEqual(bob.credential);
    }
    expect(trust.calls()).toBeGreaterThan(0);
  });

  it('removes a member: the others see it, the removed one cannot send or read', async () => {
    const { a, joined } = await groupOfAlice('g-remove', bob, carol);
    let [b, c] = joined as [MlsGroup, MlsGroup];
    const r = await mls.commit(a, { add: [], remove: [b.ownLeafIndex] });
    expect(r.welcome).toBeUndefined();
    const atCarol = await mls.process(c, r.commit);
    expect(atCarol.kind).toBe('commit');
    if (atCarol.kind !== 'commit') return;
    expect(atCarol.removed.map((m) => m.leafIndex)).toEqual([b.ownLeafIndex]);
    expect(atCarol.added).toEqual([]);
    expect(atCarol.sender?.leafIndex).toBe(0);
    c = atCarol.group;
    const after = await mls.encrypt(r.group, te.encode('after bob left'));
    // Bob has not seen the commit: the next epoch is not his.
    expect(await code(mls.process(b, after.message))).toBe('wrong_epoch');
    const atBob = await mls.process(b, r.commit);
    expect(atBob.kind === 'commit' && atBob.removed.some((m) => m.leafIndex === b.ownLeafIndex)).toBe(true);
    b = atBob.group;
    expect(await code(mls.process(b, after.message))).toBe('not_member');
    expect(await code(mls.encrypt(b, te.encode('x')))).toBe('not_member');
    expect(await code(mls.commit(b, { add: [], remove: [] }))).toBe('not_member');
    const atC = await mls.process(c, after.message);
    expect(atC.kind === 'application' && td.decode(atC.plaintext)).toBe('after bob left');
  });

  it('refuses to add an expired KeyPackage or one of another suite', async () => {
    const a = await mls.createGroup(gid('g-expired'), alice);
    const past = await createTsMlsAdapter({
      validate: trust.validate,
      nowSeconds: () => Math.floor(Date.now() / 1000) - 86_400,
    });
    const expired = await past.generateKeyPackage(bob, 3600);
    expect(await code(mls.commit(a, { add: [expired.keyPackage], remove: [] }))).toBe('invalid');
    const xwing = await createTsMlsAdapter({
      validate: trust.validate,
      suite: 'MLS_256_XWING_AES256GCM_SHA512_Ed25519',
    });
    const other = await xwing.generateKeyPackage(bob, 3600);
    expect(await code(mls.commit(a, { add: [other.keyPackage], remove: [] }))).toBe('invalid');
    const fresh = await mls.generateKeyPackage(bob, 3600);
    expect((await mls.commit(a, { add: [fresh.keyPackage], remove: [] })).group.members()).toHaveLength(2);
  });

  it('refuses to remove an empty leaf or itself', async () => {
    const { a } = await groupOfAlice('g-rm-bad', bob);
    expect(await code(mls.commit(a, { add: [], remove: [7] }))).toBe('invalid');
    expect(await code(mls.commit(a, { add: [], remove: [a.ownLeafIndex] }))).toBe('invalid');
  });

  it('detects a replayed application message', async () => {
    const { a, joined } = await groupOfAlice('g-replay', bob);
    const m = await mls.encrypt(a, te.encode('once'));
    const first = await mls.process(joined[0]!, m.message);
    expect(first.kind).toBe('application');
    expect(await code(mls.process(first.group, m.message))).toBe('replay');
  });

  it('decrypts messages out of order within an epoch', async () => {
    const { a, joined } = await groupOfAlice('g-order', bob);
    const m1 = await mls.encrypt(a, te.encode('one'));
    const m2 = await mls.encrypt(m1.group, te.encode('two'));
    const r2 = await mls.process(joined[0]!, m2.message);
    const r1 = await mls.process(r2.group, m1.message);
    expect([r1, r2].map((r) => (r.kind === 'application' ? td.decode(r.plaintext) : r.kind))).toEqual(['one', 'two']);
  });

  it('maps a wrong group, garbage and a non-message to stable codes', async () => {
    const { a, joined } = await groupOfAlice('g-codes', bob);
    const other = await mls.createGroup(gid('g-other'), alice);
    const foreign = await mls.encrypt(other, te.encode('elsewhere'));
    expect(await code(mls.process(joined[0]!, foreign.message))).toBe('wrong_group');
    expect(await code(mls.process(a, new Uint8Array([1, 2, 3])))).toBe('decode');
    const kp = await mls.generateKeyPackage(bob, 60);
    expect(await code(mls.process(a, kp.keyPackage))).toBe('invalid');
    const m = await mls.encrypt(a, te.encode('x'));
    expect(await code(mls.process(joined[0]!, new Uint8Array([...m.message, 0])))).toBe('decode');
    const tampered = m.message.slice();
    tampered[tampered.length - 3]! ^= 0x40;
    expect(await code(mls.process(joined[0]!, tampered))).toBe('invalid');
  });

  it('refuses a second encryption from the same snapshot (no ratchet generation reuse)', async () => {
    const g = await mls.createGroup(gid('g-spent'), alice);
    await mls.encrypt(g, te.encode('1'));
    expect(await code(mls.encrypt(g, te.encode('2')))).toBe('invalid');
  });

  it('keeps keys of past epochs for late messages, as configured', async () => {
    for (const [retain, expected] of [
      [4, 'late'],
      [1, 'wrong_epoch'],
    ] as const) {
      const adapter = await createTsMlsAdapter({ validate: trust.validate, keyRetentionEpochs: retain });
      let a = await adapter.createGroup(gid(`g-late-${retain}`), alice);
      const kp = await adapter.generateKeyPackage(bob, 600);
      const add = await adapter.commit(a, { add: [kp.keyPackage], remove: [] });
      a = add.group;
      const b = (await adapter.joinFromWelcome(add.welcome!, () => kp.secret)).group;
      const late = await adapter.encrypt(b, te.encode('late'));
      // Two commits later: epoch 1 is two epochs back.
      const upd = await adapter.commit((await adapter.commit(a, { add: [], remove: [] })).group, {
        add: [],
        remove: [],
      });
      const r = await adapter.process(upd.group, late.message).then(
        (x) => (x.kind === 'application' && x.sender.leafIndex === b.ownLeafIndex ? td.decode(x.plaintext) : x.kind),
        (e: MlsError) => e.code,
      );
      expect(r).toBe(expected);
    }
    expect(await code(createTsMlsAdapter({ validate: trust.validate, keyRetentionEpochs: 0 }))).toBe('invalid');
  });
});

describe('joinFromWelcome', () => {
  it('reports no_key_package for a Welcome to someone else, decode for garbage', async () => {
    const a = await mls.createGroup(gid('g-nokp'), alice);
    const kp = await mls.generateKeyPackage(bob, 600);
    const r = await mls.commit(a, { add: [kp.keyPackage], remove: [] });
    expect(await code(mls.joinFromWelcome(r.welcome!, () => undefined))).toBe('no_key_package');
    expect(await code(mls.joinFromWelcome(new Uint8Array([0, 1]), () => kp.secret))).toBe('decode');
    const joined = await mls.joinFromWelcome(r.welcome!, (ref) => (ref === kp.ref ? kp.secret : undefined));
    expect(joined.usedRef).toBe(kp.ref);
    expect(joined.group.epoch).toBe(1);
  });
});
