import { describe, expect, it } from 'vitest';
import { Api } from './api.js';
import { DirectoryApi } from './api-directory.js';
import { DeviceKey } from './device-key.js';
import { PalisadeError } from './errors.js';
import type { HttpTransport } from './transport.js';

const hash = 'A'.repeat(43);
const head = {
  treeSize: 3,
  rootHash: hash,
  timestamp: new Date(0).toISOString(),
  keyId: 'k1',
  signature: 'B'.repeat(86),
};

/** A transport that records requests and answers what the test says. */
function server(answer: (method: string, path: string) => unknown) {
  const seen: { method: string; path: string; body?: string; proof?: string }[] = [];
  const http: HttpTransport = {
    request: (method, path, body, headers) => {
      seen.push({ method, path, ...(body !== undefined ? { body } : {}), proof: headers['x-palisade-proof'] });
      return Promise.resolve({ status: 200, body: answer(method, path) });
    },
  };
  const api = new Api(http, DeviceKey.generate());
  api.token = 'session-token';
  return { dir: new DirectoryApi(api), seen };
}

describe('DirectoryApi', () => {
  it('calls each route with a signed request and returns the parsed answer', async () => {
    const { dir, seen } = server((_m, path) =>
      path.startsWith('/v1/e2ee/kt/head')
        ? head
        : path.startsWith('/v1/e2ee/kt/gossip') && _m === 'GET'
          ? { heads: [] }
          : path.startsWith('/v1/e2ee/directory')
            ? { head, users: [] }
            : path.startsWith('/v1/e2ee/org-keys')
              ? { keys: [] }
              : { proof: [hash] },
    );
    expect(await dir.head()).toEqual(head);
    expect(await dir.inclusion(1, 3)).toEqual([hash]);
    expect(await dir.consistency(2, 3)).toEqual([hash]);
    expect(await dir.directory(['u1', 'u 2'])).toEqual({ head, users: [] });
    expect(await dir.orgKeys()).toEqual([]);
    expect(await dir.siblingHeads()).toEqual([]);
    await dir.gossip(head, 'C'.repeat(86));
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      'GET /v1/e2ee/kt/head',
      'GET /v1/e2ee/kt/inclusion?leafIndex=1&treeSize=3',
      'GET /v1/e2ee/kt/consistency?from=2&to=3',
      'GET /v1/e2ee/directory?userIds=u1%2Cu%202',
      'GET /v1/e2ee/org-keys',
      'GET /v1/e2ee/kt/gossip',
      'POST /v1/e2ee/kt/gossip',
    ]);
    expect(JSON.parse(seen.at(-1)!.body!)).toEqual({ head, signature: 'C'.repeat(86) });
    expect(seen.every((s) => /^\d+\.[A-Za-z0-9_-]{86}$/.test(s.proof ?? ''))).toBe(true);
  });

  it('refuses malformed or oversized answers from the server instead of trusting them', async () => {
    const answers: unknown[] = [
      { ...head, rootHash: 'short' },
      { proof: Array.from({ length: 129 }, () => hash) },
      { proof: ['not base64url!'] },
      { keys: [{ keyId: 'k', publicKey: hash, createdAt: 'never' }] },
      { credential: 'AA', leafIndex: -1, head, inclusion: [] },
      null,
    ];
    const calls = [
      (d: DirectoryApi) => d.head(),
      (d: DirectoryApi) => d.inclusion(0, 1),
      (d: DirectoryApi) => d.consistency(0, 1),
      (d: DirectoryApi) => d.orgKeys(),
      (d: DirectoryApi) => d.issueCredential(),
      (d: DirectoryApi) => d.siblingHeads(),
    ];
    for (const [i, call] of calls.entries()) {
      const { dir } = server(() => answers[i]);
      const e = await call(dir).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(PalisadeError);
      expect((e as PalisadeError).code).toBe('bad_request');
    }
  });
});
