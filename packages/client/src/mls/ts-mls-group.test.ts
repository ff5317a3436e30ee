import type { RatchetTree } from 'ts-mls';
import { describe, expect, it } from 'vitest';
import { diffMembers, memberAt, treeMembers } from './ts-mls-group.js';

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
