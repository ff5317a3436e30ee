import { beforeAll, describe, expect, it } from 'vitest';
import { allowList, groupOf, mlsCode, testDevice, type TestDevice } from '../test-support/mls.js';
import type { MlsAdapter } from './adapter.js';
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
  it('cannot join by external commit: the members refuse the commit', async () => {
    const { a, joined, commit } = await groupOfAlice('g-mallory-ext', bob);
    // Mallory's own adapter trusts the group, so she can build the external commit...
    const malloryMls = await createTsMlsAdapter({ validate: allowList([alice, bob, mallory]).validate });
    const ext = await malloryMls.joinExternal(commit.groupInfo, mallory);
    // ...but every member's validator refuses her leaf: the commit is rejected, the group unchanged.
    expect(await code(mls.process(a, ext.commit))).toBe('credential_refused');
    expect(await code(mls.process(joined[0]!, ext.commit))).toBe('credential_refused');
    const m = await mls.encrypt(a, te.encode('still epoch 1'));
    expect((await mls.process(joined[0]!, m.message)).group.epoch).toBe(1);
  });
});

describe('joinExternal', () => {
  it('joins a new device by external commit, which the members process', async () => {
    const { a, joined } = await groupOfAlice('g-ext', bob);
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
    const { a, commit } = await groupOfAlice('g-resync', bob);
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
    const { a, joined } = await groupOfAlice('g-snap', bob);
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
    const { a, commit } = await groupOfAlice('g-peek', bob);
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
