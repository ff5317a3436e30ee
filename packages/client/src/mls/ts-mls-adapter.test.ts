import { beforeAll, describe, expect, it } from 'vitest';
import { allowList, testDevice, type TestDevice } from '../test-support/mls.js';
import { MlsError, type MlsAdapter, type MlsErrorCode, type MlsGroup } from './adapter.js';
import { createTsMlsAdapter } from './ts-mls-adapter.js';

const te = new TextEncoder();
const td = new TextDecoder();
const gid = (s: string) => te.encode(s);

async function code(p: Promise<unknown> | (() => unknown)): Promise<MlsErrorCode | 'no error'> {
  try {
    await (typeof p === 'function' ? p() : p);
    return 'no error';
  } catch (e) {
    if (e instanceof MlsError) return e.code;
    throw e;
  }
}

const [alice, bob, carol] = [testDevice('alice'), testDevice('bob'), testDevice('carol')];
const trust = allowList([alice, bob, carol]);
let mls: MlsAdapter;
beforeAll(async () => {
  mls = await createTsMlsAdapter({ validate: trust.validate });
});

/** Alice creates a group and adds the given devices; each joins from the Welcome. */
async function groupOf(name: string, ...others: TestDevice[]) {
  let a = await mls.createGroup(gid(name), alice);
  const kps = await Promise.all(others.map((d) => mls.generateKeyPackage(d, 3600)));
  const r = await mls.commit(a, { add: kps.map((k) => k.keyPackage), remove: [] });
  a = r.group;
  const joined: MlsGroup[] = [];
  for (const k of kps)
    joined.push((await mls.joinFromWelcome(r.welcome!, (ref) => (ref === k.ref ? k.secret : undefined))).group);
  return { a, joined, commit: r };
}

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
    const { a, joined, commit } = await groupOf('g-three', bob, carol);
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
    const { a, joined } = await groupOf('g-remove', bob, carol);
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

  it('refuses to remove an empty leaf or itself', async () => {
    const { a } = await groupOf('g-rm-bad', bob);
    expect(await code(mls.commit(a, { add: [], remove: [7] }))).toBe('invalid');
    expect(await code(mls.commit(a, { add: [], remove: [a.ownLeafIndex] }))).toBe('invalid');
  });

  it('detects a replayed application message', async () => {
    const { a, joined } = await groupOf('g-replay', bob);
    const m = await mls.encrypt(a, te.encode('once'));
    const first = await mls.process(joined[0]!, m.message);
    expect(first.kind).toBe('application');
    expect(await code(mls.process(first.group, m.message))).toBe('replay');
  });

  it('decrypts messages out of order within an epoch', async () => {
    const { a, joined } = await groupOf('g-order', bob);
    const m1 = await mls.encrypt(a, te.encode('one'));
    const m2 = await mls.encrypt(m1.group, te.encode('two'));
    const r2 = await mls.process(joined[0]!, m2.message);
    const r1 = await mls.process(r2.group, m1.message);
    expect([r1, r2].map((r) => (r.kind === 'application' ? td.decode(r.plaintext) : r.kind))).toEqual(['one', 'two']);
  });

  it('maps a wrong group, garbage and a non-message to stable codes', async () => {
    const { a, joined } = await groupOf('g-codes', bob);
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
        (x) => (x.kind === 'application' ? td.decode(x.plaintext) : x.kind),
        (e: MlsError) => e.code,
      );
      expect(r).toBe(expected);
    }
    expect(await code(createTsMlsAdapter({ validate: trust.validate, keyRetentionEpochs: 0 }))).toBe('invalid');
  });
});

describe('credentials the validator refuses', () => {
  const mallory = testDevice('mallory');
  it('cannot be added', async () => {
    const a = await mls.createGroup(gid('g-mallory'), alice);
    const kp = await mls.generateKeyPackage(mallory, 600);
    expect(await code(mls.commit(a, { add: [kp.keyPackage], remove: [] }))).toBe('credential_refused');
  });
  it('cannot join from a Welcome, nor be accepted in a commit by a member who refuses it', async () => {
    const lenient = allowList([alice, bob, carol, mallory]);
    const aliceMls = await createTsMlsAdapter({ validate: lenient.validate });
    let a = await aliceMls.createGroup(gid('g-mallory-2'), alice);
    const kb = await aliceMls.generateKeyPackage(bob, 600);
    const add = await aliceMls.commit(a, { add: [kb.keyPackage], remove: [] });
    a = add.group;
    const b = (await mls.joinFromWelcome(add.welcome!, () => kb.secret)).group;
    const km = await mls.generateKeyPackage(mallory, 600);
    const addM = await aliceMls.commit(a, { add: [km.keyPackage], remove: [] });
    // Bob's validator refuses mallory: the commit that adds her is rejected.
    expect(await code(mls.process(b, addM.commit))).toBe('credential_refused');
    // Mallory's own validator refuses nobody but the tree has a member it does not trust: refused.
    const malloryMls = await createTsMlsAdapter({ validate: allowList([mallory, bob]).validate });
    expect(await code(malloryMls.joinFromWelcome(addM.welcome!, () => km.secret))).toBe('credential_refused');
    // And by external commit: the GroupInfo's tree holds a refused member.
    expect(await code(malloryMls.joinExternal(addM.groupInfo, mallory))).toBe('credential_refused');
    // A validator that throws counts as a refusal.
    const throwing = await createTsMlsAdapter({
      validate: () => Promise.reject(new Error('directory down')),
    });
    expect(await code(throwing.createGroup(gid('g-throw'), alice))).toBe('credential_refused');
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

describe('joinExternal', () => {
  it('joins a new device by external commit, which the members process', async () => {
    const { a, joined } = await groupOf('g-ext', bob);
    const info = await mls.commit(a, { add: [], remove: [] });
    const b = (await mls.process(joined[0]!, info.commit)).group;
    const ext = await mls.joinExternal(info.groupInfo, carol);
    expect(mls.peek(ext.commit)).toMatchObject({ wireformat: 'public_message', contentType: 'commit', epoch: 2 });
    const atAlice = await mls.process(info.group, ext.commit);
    expect(atAlice.kind === 'commit' && atAlice.added.map((m) => m.credential)).toEqual([carol.credential]);
    await mls.process(b, ext.commit);
    const hello = await mls.encrypt(ext.group, te.encode('carol here'));
    const got = await mls.process(atAlice.group, hello.message);
    expect(got.kind === 'application' && td.decode(got.plaintext)).toBe('carol here');
  });

  it('re-joins a device that lost its state, replacing its old leaf', async () => {
    const { a, commit } = await groupOf('g-resync', bob);
    const ext = await mls.joinExternal(commit.groupInfo, bob);
    const atAlice = await mls.process(a, ext.commit);
    if (atAlice.kind !== 'commit') throw new Error('expected a commit');
    expect(atAlice.removed.map((m) => m.credential)).toEqual([bob.credential]);
    expect(atAlice.added.map((m) => m.credential)).toEqual([bob.credential]);
    expect(atAlice.group.members()).toHaveLength(2);
    const m = await mls.encrypt(atAlice.group, te.encode('welcome back'));
    const got = await mls.process(ext.group, m.message);
    expect(got.kind === 'application' && td.decode(got.plaintext)).toBe('welcome back');
  });
});

describe('encode / decodeGroup', () => {
  it('a restored snapshot continues: sends, receives and commits', async () => {
    const { a, joined } = await groupOf('g-snap', bob);
    const a2 = mls.decodeGroup(a.encode());
    const b2 = mls.decodeGroup(joined[0]!.encode());
    expect([a2.epoch, a2.ownLeafIndex, a2.members().length]).toEqual([1, 0, 2]);
    const m = await mls.encrypt(a2, te.encode('from a restored state'));
    const got = await mls.process(b2, m.message);
    expect(got.kind === 'application' && td.decode(got.plaintext)).toBe('from a restored state');
    // Restore again after receiving: the used generation stays used.
    const b3 = mls.decodeGroup(got.group.encode());
    expect(await code(mls.process(b3, m.message))).toBe('replay');
    const c = await mls.commit(mls.decodeGroup(m.group.encode()), { add: [], remove: [] });
    expect((await mls.process(b3, c.commit)).group.epoch).toBe(2);
  });
  it('refuses garbage and a snapshot of another suite', async () => {
    expect(await code(() => mls.decodeGroup(new Uint8Array([1, 2, 3])))).toBe('decode');
    expect(await code(() => mls.decodeGroup(new Uint8Array(0)))).toBe('decode');
    const a = await mls.createGroup(gid('g-suite'), alice);
    expect(await code(() => mls.decodeGroup(a.encode().slice(0, 50)))).toBe('decode');
    const xwing = await createTsMlsAdapter({
      validate: trust.validate,
      suite: 'MLS_256_XWING_AES256GCM_SHA512_Ed25519',
    });
    expect(await code(() => xwing.decodeGroup(a.encode()))).toBe('invalid');
  });
});

describe('peek', () => {
  it('reads wireformat, group, epoch and content type without keys', async () => {
    const { a, commit } = await groupOf('g-peek', bob);
    const m = await mls.encrypt(a, te.encode('x'));
    const p = mls.peek(m.message);
    expect(p).toMatchObject({ wireformat: 'private_message', epoch: 1, contentType: 'application' });
    expect(td.decode(p.groupId)).toBe('g-peek');
    expect(mls.peek(commit.commit)).toMatchObject({ wireformat: 'private_message', epoch: 0, contentType: 'commit' });
    expect(mls.peek(commit.welcome!)).toEqual({ wireformat: 'welcome' });
    expect(mls.peek(commit.groupInfo)).toMatchObject({ wireformat: 'group_info', epoch: 1 });
    expect(await code(() => mls.peek(new Uint8Array([0, 1, 0, 2])))).toBe('decode');
  });
});

describe('the X-Wing suite', () => {
  it('works end to end: add, messages both ways, remove', async () => {
    const x = await createTsMlsAdapter({ validate: trust.validate, suite: 'MLS_256_XWING_AES256GCM_SHA512_Ed25519' });
    const kp = await x.generateKeyPackage(bob, 600);
    const add = await x.commit(await x.createGroup(gid('g-xwing'), alice), { add: [kp.keyPackage], remove: [] });
    let b = (await x.joinFromWelcome(add.welcome!, () => kp.secret)).group;
    expect(b.suite).toBe('MLS_256_XWING_AES256GCM_SHA512_Ed25519');
    const m1 = await x.encrypt(add.group, te.encode('pq hello'));
    const r1 = await x.process(b, m1.message);
    expect(r1.kind === 'application' && td.decode(r1.plaintext)).toBe('pq hello');
    b = r1.group;
    const m2 = await x.encrypt(b, te.encode('pq reply'));
    const r2 = await x.process(m1.group, m2.message);
    expect(r2.kind === 'application' && td.decode(r2.plaintext)).toBe('pq reply');
    const rm = await x.commit(r2.group, { add: [], remove: [b.ownLeafIndex] });
    const after = await x.encrypt(rm.group, te.encode('secret'));
    const gone = await x.process(m2.group, rm.commit);
    expect(await code(x.process(gone.group, after.message))).toBe('not_member');
    // The default adapter cannot read an X-Wing Welcome.
    expect(await code(mls.joinFromWelcome(add.welcome!, () => kp.secret))).toBe('invalid');
  });
});
