import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, DeviceKey, MlsApi, PalisadeError, type HttpTransport } from '@palisade/client';
import { ERROR_CODES } from '@palisade/protocol';
import { openDirect } from '../messaging/index.js';
import { injectableApp, type InjectableApp } from '../test-support/http-app.js';
import { b64u, makeKeyPackage, mlsUsers, TestGroup, type MlsDevice } from '../test-support/mls-fixture.js';
import { uniqueName } from '../test-support/users.js';

/** The SDK's HTTP transport over Fastify's inject: the real routes, proofs and error mapping. */
function injectTransport(app: InjectableApp['app']): HttpTransport {
  return {
    async request(method, path, bodyText, headers) {
      const res = await app.inject({
        method: method as 'GET',
        url: path,
        headers: bodyText === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(bodyText === undefined ? {} : { payload: bodyText }),
      });
      return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as unknown) : undefined };
    },
  };
}

/** The SDK for a fixture device: its Ed25519 seed is the last 32 bytes of its PKCS#8 key. */
function sdkFor(app: InjectableApp['app'], dev: MlsDevice): { api: Api; mls: MlsApi } {
  const api = new Api(injectTransport(app), DeviceKey.import(b64u(dev.signKey.slice(-32))));
  api.token = dev.token;
  return { api, mls: new MlsApi(api) };
}

async function failure(p: Promise<unknown>): Promise<PalisadeError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof PalisadeError)) throw new Error('expected a PalisadeError', { cause: e });
  return e;
}

describe('MLS over HTTP through the SDK (real core and routes, e2ee.required on)', () => {
  let t: InjectableApp;
  let a: MlsDevice;
  let b: MlsDevice;
  let conv: string;
  beforeAll(async () => {
    t = await injectableApp('mls', { e2eeRequired: true });
    [a, b] = (await mlsUsers(t.core.auth, [uniqueName('ha'), uniqueName('hb')])) as [MlsDevice, MlsDevice];
    conv = (await openDirect(t.core.messaging, a.principal, b.principal.username)).id;
  });
  afterAll(async () => t?.close());

  it('runs the directory, a group creation, sends, a lost epoch race and welcomes end to end', async () => {
    const sa = sdkFor(t.app, a);
    const sb = sdkFor(t.app, b);
    const kps = [await makeKeyPackage(b), await makeKeyPackage(b)];
    expect(await sb.mls.uploadKeyPackages(kps.map((k) => ({ keyPackage: k.bytes })))).toEqual({
      stock: 2,
      lastResort: false,
    });
    expect(await sb.mls.keyPackageStock()).toEqual({ stock: 2, lastResort: false });
    const claim = await sa.mls.claimKeyPackages([b.principal.deviceId]);
    const kp = kps.find((k) => Buffer.from(k.bytes).equals(Buffer.from(claim.packages[0]!.keyPackage)));
    expect(kp).toBeDefined();

    const group = await TestGroup.create(a, conv);
    const c = await group.commit([kp!.publicPackage]);
    const created = await sa.mls.commit(conv, {
      epoch: 0,
      commit: c.commit,
      welcome: c.welcome!,
      groupInfo: c.groupInfo,
      added: [b.principal.deviceId],
      removed: [],
      suite: 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519',
    });
    expect(created).toEqual({ seq: 1, epoch: 1 });
    group.state = c.next;
    const st = await sb.mls.groupStatus(conv);
    expect(Buffer.from(st.groupId!).toString()).toBe(`palisade:${conv}`);
    expect(st).toMatchObject({ epoch: 1, missing: [], stale: [] });
    expect((await sb.mls.groupInfo(conv)).epoch).toBe(1);

    const plain = await failure(
      sa.api.call('POST', `/v1/conversations/${conv}/messages`, { clientMsgId: 'p1', payload: 'aGVsbG8=' }),
    );
    expect([plain.status, plain.code]).toEqual([400, 'e2ee_required']);
    const msg = Buffer.from(await group.message('hi')).toString('base64');
    expect(
      await sa.api.call('POST', `/v1/conversations/${conv}/messages`, { clientMsgId: 'p2', payload: msg }),
    ).toEqual({
      seq: 2,
      duplicate: false,
    });
    const history = await sb.api.call<{ messages: { seq: number; kind: string }[] }>(
      'GET',
      `/v1/conversations/${conv}/messages?after=0&limit=10`,
    );
    expect(history.messages.map((m) => [m.seq, m.kind])).toEqual([
      [1, 'commit'],
      [2, 'mls'],
    ]);

    const stale = await failure(
      sa.mls.commit(conv, { epoch: 0, commit: c.commit, groupInfo: c.groupInfo, added: [], removed: [] }),
    );
    expect([stale.status, stale.code, stale.details]).toEqual([409, 'epoch_conflict', { currentEpoch: 1 }]);

    const [w] = await sb.mls.welcomes();
    expect(Buffer.from(w!.welcome).equals(Buffer.from(c.welcome!))).toBe(true);
    await sb.mls.deleteWelcome(w!.id);
    expect(await sb.mls.welcomes()).toEqual([]);
    expect((await failure(sb.mls.deleteWelcome(w!.id))).status).toBe(404);
  });

  it('answers garbage commit and upload bodies with a published 4xx code, never a 500', async () => {
    const sa = sdkFor(t.app, a);
    const b64url = fc.string({ unit: fc.constantFrom(...'ABCDEFabcdef0123456789-_'), minLength: 2, maxLength: 200 });
    await fc.assert(
      fc.asyncProperty(b64url, b64url, fc.integer({ min: 0, max: 5 }), async (commit, groupInfo, epoch) => {
        const e = await failure(
          sa.api.call('POST', `/v1/conversations/${conv}/mls/commit`, {
            epoch,
            commit,
            groupInfo,
            added: [],
            removed: [],
          }),
        );
        expect(e.status).toBeGreaterThanOrEqual(400);
        expect(e.status).toBeLessThan(500);
        expect(Object.hasOwn(ERROR_CODES, e.code)).toBe(true);
        const u = await failure(sa.api.call('POST', '/v1/mls/key-packages', { packages: [{ keyPackage: commit }] }));
        expect([u.status, u.code]).toEqual([400, 'invalid_key_package']);
      }),
      { numRuns: 40 },
    );
  });
});
