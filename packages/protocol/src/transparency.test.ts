import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalTreeHead,
  ConsistencyQuery,
  DirectoryQuery,
  gossipSigningMessage,
  GossipRequest,
  InclusionQuery,
  IssueCredentialResponse,
  MAX_DIRECTORY_USERS,
  orgKeyEndorsementMessage,
  SignedTreeHead,
  treeHeadSigningMessage,
} from './transparency.js';

const b64 = (n: number) =>
  fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('base64url'));
const head = fc.record({
  treeSize: fc.integer({ min: 0, max: 2 ** 48 }),
  rootHash: b64(32),
  timestamp: fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()),
  keyId: fc.stringMatching(/^[A-Za-z0-9_-]{1,32}$/),
  signature: b64(64),
});

describe('transparency wire schemas (properties)', () => {
  it('every well-formed head parses unchanged; its canonical forms ignore key order', () => {
    fc.assert(
      fc.property(head, (h) => {
        expect(SignedTreeHead.parse(h)).toEqual(h);
        const shuffled = {
          signature: h.signature,
          keyId: h.keyId,
          timestamp: h.timestamp,
          rootHash: h.rootHash,
          treeSize: h.treeSize,
        };
        expect(canonicalTreeHead(shuffled)).toBe(canonicalTreeHead(h));
        expect(JSON.parse(canonicalTreeHead(h))).toEqual(h);
        const { signature: _s, ...unsigned } = shuffled;
        expect(treeHeadSigningMessage(unsigned)).toBe(
          `palisade-kt-head-v1:{"treeSize":${h.treeSize},"rootHash":"${h.rootHash}","timestamp":"${h.timestamp}","keyId":"${h.keyId}"}`,
        );
        expect(gossipSigningMessage(h)).toBe(`palisade-kt-gossip-v1:${canonicalTreeHead(h)}`);
        expect(GossipRequest.safeParse({ head: h, signature: h.signature }).success).toBe(true);
      }),
    );
  });

  it('the three signing contexts never collide', () => {
    fc.assert(
      fc.property(head, fc.string(), fc.string(), (h, id, key) => {
        const messages = [treeHeadSigningMessage(h), gossipSigningMessage(h), orgKeyEndorsementMessage(id, key)];
        expect(new Set(messages.map((m) => m.slice(0, m.indexOf(':') + 1))).size).toBe(3);
      }),
    );
  });

  it('refuses heads with extra fields, short hashes, negative or fractional sizes, and bad times', () => {
    fc.assert(
      fc.property(head, (h) => {
        expect(SignedTreeHead.safeParse({ ...h, extra: 1 }).success).toBe(false);
        expect(SignedTreeHead.safeParse({ ...h, rootHash: h.rootHash.slice(1) }).success).toBe(false);
        expect(SignedTreeHead.safeParse({ ...h, treeSize: -1 }).success).toBe(false);
        expect(SignedTreeHead.safeParse({ ...h, treeSize: 1.5 }).success).toBe(false);
        expect(SignedTreeHead.safeParse({ ...h, timestamp: 'yesterday' }).success).toBe(false);
      }),
    );
  });

  it('query integers are plain decimals within bounds; anything else is refused, never thrown', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), (a, b) => {
        const r = InclusionQuery.safeParse({ leafIndex: a, treeSize: b });
        const plain = (s: string) => /^(0|[1-9][0-9]{0,15})$/.test(s) && Number(s) <= 2 ** 48;
        expect(r.success).toBe(plain(a) && plain(b));
        if (r.success) expect(r.data).toEqual({ leafIndex: Number(a), treeSize: Number(b) });
        expect(ConsistencyQuery.safeParse({ from: a, to: b }).success).toBe(plain(a) && plain(b));
      }),
    );
    for (const bad of ['-1', '01', '1e3', ' 1', '0x10', '281474976710657'])
      expect(InclusionQuery.safeParse({ leafIndex: bad, treeSize: '1' }).success).toBe(false);
  });

  it('directory queries: de-duplicated ids, at most 100, each a well-formed id', () => {
    const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/);
    fc.assert(
      fc.property(fc.array(id, { minLength: 1, maxLength: 140 }), (ids) => {
        const r = DirectoryQuery.safeParse({ userIds: ids.join(',') });
        const unique = [...new Set(ids)];
        expect(r.success).toBe(unique.length <= MAX_DIRECTORY_USERS);
        if (r.success) expect(r.data.userIds).toEqual(unique);
      }),
    );
    for (const bad of ['', ',', 'a,,b', 'a b', 'a,é'])
      expect(DirectoryQuery.safeParse({ userIds: bad }).success).toBe(false);
  });

  it('a credential answer is bounded (proof length, credential size)', () => {
    fc.assert(
      fc.property(head, fc.integer({ min: 0, max: 200 }), (h, n) => {
        const r = IssueCredentialResponse.safeParse({
          credential: 'AA',
          leafIndex: 0,
          head: h,
          inclusion: Array.from({ length: n }, () => h.rootHash),
        });
        expect(r.success).toBe(n <= 128);
      }),
    );
  });
});
