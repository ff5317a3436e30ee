import type { CiphersuiteImpl, ClientState, MLSMessage, RatchetTree } from 'ts-mls';
import { describe, expect, it } from 'vitest';
import { testDevice } from '../test-support/mls.js';
import { MlsError, type DeviceIdentity } from './adapter.js';
import { applicationSender, checkIdentity, diffMembers, memberAt, treeMembers } from './ts-mls-group.js';

const leaf = (id: number, key: number) => ({
  nodeType: 'leaf' as const,
  leaf: {
    credential: { credentialType: 'basic' as const, identity: new Uint8Array([id]) },
    signaturePublicKey: new Uint8Array([key]),
  },
});
const parent = { nodeType: 'parent' as const, parent: {} };
const tree = (...nodes: unknown[]) => nodes as RatchetTree;

describe('treeMembers / memberAt', () => {
  it('lists non-blank leaves (even node indices) with their leaf index', () => {
    const t = tree(leaf(1, 11), parent, undefined, undefined, leaf(3, 33));
    expect(treeMembers(t).map((m) => [m.leafIndex, m.credential[0]])).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(memberAt(t, 2)?.signatureKey).toEqual(new Uint8Array([33]));
    expect(memberAt(t, 1)).toBeUndefined();
    expect(memberAt(t, undefined)).toBeUndefined();
  });
});

describe('diffMembers', () => {
  it('reports new leaves, vanished leaves, and a leaf replaced in place by a named removal', () => {
    const before = tree(leaf(1, 11), parent, leaf(2, 22));
    const after = tree(leaf(1, 11), parent, undefined, undefined, leaf(3, 33));
    const d = diffMembers(before, after, [1]);
    expect(d.added.map((m) => m.leafIndex)).toEqual([2]);
    expect(d.removed.map((m) => m.leafIndex)).toEqual([1]);
    const resync = diffMembers(before, before, [1]);
    expect(resync.added.map((m) => m.leafIndex)).toEqual([1]);
    expect(resync.removed.map((m) => m.leafIndex)).toEqual([1]);
    expect(diffMembers(before, before, [])).toEqual({ added: [], removed: [] });
  });
});

describe('applicationSender', () => {
  const t = tree(leaf(1, 11), parent, leaf(2, 22));
  const [n0, n1, n2] = [{ a: 0 }, { a: 1 }, { a: 2 }];
  const state = (secretTree: unknown[]) =>
    ({
      groupContext: { epoch: 3n },
      historicalReceiverData: new Map(),
      ratchetTree: t,
      secretTree,
      keySchedule: { senderDataSecret: new Uint8Array(32) },
    }) as unknown as ClientState;
  const msg = {
    version: 'mls10',
    wireformat: 'mls_private_message',
    privateMessage: { epoch: 3n },
  } as unknown as MLSMessage;
  // A suite object with nothing in it: touching it (the fallback's decryption) throws.
  const noCrypto = {} as CiphersuiteImpl;

  it('names the leaf whose secret-tree node processing replaced, without decrypting again', async () => {
    const sender = await applicationSender(state([n0, n1, n2]), state([n0, n1, { a: 3 }]), msg, noCrypto);
    expect(sender.leafIndex).toBe(1);
    expect(sender.credential).toEqual(new Uint8Array([2]));
  });
  it('falls back to the sender data when the diff is not exactly one leaf node', async () => {
    await expect(
      applicationSender(state([n0, n1, n2]), state([{ a: 9 }, n1, { a: 3 }]), msg, noCrypto),
    ).rejects.toThrow();
    await expect(applicationSender(state([n0, n1, n2]), state([n0, { a: 9 }, n2]), msg, noCrypto)).rejects.toThrow();
  });
  it('refuses a message in the clear', async () => {
    const pub = { ...msg, wireformat: 'mls_public_message' } as unknown as MLSMessage;
    await expect(applicationSender(state([n0]), state([n0]), pub, noCrypto)).rejects.toMatchObject({ code: 'invalid' });
  });
});

describe('checkIdentity', () => {
  it('accepts a matching key pair and refuses anything else with invalid', () => {
    const d = testDevice();
    expect(() => checkIdentity(d)).not.toThrow();
    const other = testDevice();
    expect(() => checkIdentity({ ...d, signaturePublic: other.signaturePublic })).toThrow(MlsError);
    expect(() => checkIdentity({ ...d, signatureSecret: new Uint8Array(31) })).toThrow(MlsError);
    expect(() => checkIdentity(null as unknown as DeviceIdentity)).toThrow(MlsError);
  });
});
