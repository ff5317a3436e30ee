import fc from 'fast-check';
import { Secret, TOTP } from 'otpauth';
import { beforeAll, describe, expect, it } from 'vitest';
import { DeviceKey, type PalisadeClient } from '@palisade/client';
import { DisplayText, Email, isErrorCode, Password, ReasonText, text, TopicText, Username } from '@palisade/protocol';
import type { z } from 'zod';
import { useServerWithAdmin } from '../support/harness.js';
import { createUsers, deviceClient, PASS } from '../support/users.js';

/*
 * Every text field of the protocol, through the HTTP routes of a real server, over arbitrary Unicode
 * (lone surrogates, NUL, controls, bidi controls, astral characters, very long strings): a value is
 * either accepted and read back through the API exactly as sent (e-mail: lower-cased, documented), or
 * refused with a 4xx and a documented code (schema refusals: `bad_request` naming the field). Never a
 * 5xx. The protocol schema is the oracle: the server accepts a value exactly when the schema does.
 */

const RUNS = { numRuns: 40 };
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const codeFor = (secret: string, at = Date.now()) =>
  new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate({ timestamp: at });

/** Small pieces that hostile text is made of. */
const atom = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '\u0000',
      '\u202e',
      '\u202a',
      '\u2066',
      '\u2069',
      '\u200f',
      '\u061c',
      '\u2028',
      '\n',
      '\t',
      ' ',
      '\u200b',
      '\u200d',
      '\ufeff',
      '\u0085',
      '😀',
      '\u{10ffff}',
      'e\u0301',
      '\u00e9',
      'ﬁ',
      'İ',
      'Ω',
      '\u3000',
    ),
  },
);
/** Arbitrary Unicode, short or around (and beyond) a field's limit. */
const hostile = (max: number) =>
  fc.oneof(
    { weight: 8, arbitrary: fc.array(atom, { maxLength: 12 }).map((a) => a.join('')) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(atom, fc.integer({ min: Math.max(1, max - 3), max: max + 3 }))
        .map(([a, n]) => [...a][0]!.repeat(n)),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: max, maxLength: max * 2 }) },
  );

interface Answer {
  status: number;
  body: unknown;
  code?: string;
  details?: unknown;
  paths: string[];
}

/** Calls the API; errors become an answer with their status, code and the field paths of the details. */
async function call(c: PalisadeClient, method: string, path: string, body?: unknown, auth = true): Promise<Answer> {
  try {
    return { status: 200, body: await c.api.call(method, path, body, auth), paths: [] };
  } catch (e) {
    const err = e as { status: number; code: string; details?: unknown };
    const paths = Array.isArray(err.details) ? (err.details as { path?: string }[]).map((d) => String(d.path)) : [];
    return { status: err.status, body: undefined, code: err.code, details: err.details, paths };
  }
}

/** Accepted and refused values per property: both must occur, or the property proved nothing. */
const tally = { accepted: 0, refused: 0 };
/** Refusals of a schema-valid value that are about the value itself. */
const BUSINESS_REFUSALS = ['username_taken', 'username_reserved', 'email_taken', 'weak_password'];
function expectBothSeen(): void {
  expect(tally.accepted, 'no value was accepted').toBeGreaterThan(0);
  expect(tally.refused, 'no value was refused').toBeGreaterThan(0);
  tally.accepted = tally.refused = 0;
}

/** The common contract: never a 5xx, every error a published code; a schema refusal names the field. */
function expectSane(
  a: Answer,
  ok: (z.ZodType | undefined)[],
  values: unknown[],
  fields: string[],
  allowed: string[] = [],
): boolean {
  const accepted = checkAnswer(a, ok, values, fields, allowed);
  tally[accepted ? 'accepted' : 'refused']++;
  return accepted;
}

function checkAnswer(
  a: Answer,
  ok: (z.ZodType | undefined)[],
  values: unknown[],
  fields: string[],
  allowed: string[],
): boolean {
  expect(a.status, JSON.stringify(a)).toBeLessThan(500);
  if (a.status >= 400) expect(isErrorCode(a.code ?? ''), a.code).toBe(true);
  const invalid = fields.filter((_, i) => ok[i] !== undefined && !ok[i].safeParse(values[i]).success);
  if (invalid.length > 0) {
    expect([a.status, a.code]).toEqual([400, 'bad_request']);
    for (const f of invalid) expect(a.paths, f).toContain(f);
    return false;
  }
  expect(a.code === 'bad_request' ? a.paths : [], 'a value the schema accepts was refused').toEqual([]);
  // A valid value may only meet a refusal that is about its meaning (a name taken, a weak password),
  // never an unrelated one (a lost session, a rate limit) that would make the property prove nothing.
  if (a.status >= 400)
    expect([...BUSINESS_REFUSALS, ...allowed], JSON.stringify({ code: a.code, status: a.status })).toContain(a.code);
  return a.status < 300;
}

describe('text fields: exact round trip or a documented refusal, never a 5xx (property, real server)', () => {
  const ctx = useServerWithAdmin({
    config: [
      'limits:',
      '  overrides:',
      ...['login.address', 'login.network', 'login.account', 'enrol.address', 'enrol.network'].map(
        (n) => `    '${n}': { burst: 100000, perSecond: 100000 }`,
      ),
      '',
    ].join('\n'),
  });
  let pat: PalisadeClient;
  let patId: string;
  let n = 0;
  const fresh = () => `pt${(n++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  beforeAll(async () => {
    [pat] = (await createUsers(ctx.server, ctx.admin, ['patfields'])) as [PalisadeClient];
    patId = (await pat.api.me()).userId;
    const t = await ctx.admin.api.enrolTotp();
    await ctx.admin.api.confirmTotp(t.id, codeFor(t.secret));
    await ctx.admin.api.stepUp(codeFor(t.secret, Date.now() + 30_000));
  });
  const userById = async (id: string) => (await ctx.admin.api.users()).find((u) => u.id === id);

  it('issue 8: enrolment: username and display name', async () => {
    const usernames = fc.oneof(hostile(32), fc.stringMatching(/^[a-z0-9][a-z0-9._-]{1,20}$/));
    await fc.assert(
      fc.asyncProperty(usernames, fc.option(hostile(128), { nil: undefined }), async (u, displayName) => {
        const username = Username.safeParse(u).success ? `${u.slice(0, 20)}${fresh()}`.slice(0, 32) : u;
        const token = (await ctx.admin.api.invite('member')).token;
        const a = await call(
          deviceClient(ctx.server),
          'POST',
          '/v1/enrol',
          { token, username, password: PASS, ...(displayName === undefined ? {} : { displayName }) },
          false,
        );
        if (
          !expectSane(
            a,
            [Username, displayName === undefined ? undefined : DisplayText],
            [username, displayName],
            ['body.username', 'body.displayName'],
          )
        )
          return;
        const { userId } = a.body as { userId: string };
        expect(await userById(userId)).toMatchObject({ username, displayName: displayName ?? null });
      }),
      RUNS,
    );
    expectBothSeen();
  });

  it('issue 8: enrolment: a password is used exactly as sent', async () => {
    await fc.assert(
      fc.asyncProperty(hostile(40), async (tail) => {
        const password = `${PASS} ${tail}`;
        const username = fresh();
        const token = (await ctx.admin.api.invite('member')).token;
        const a = await call(deviceClient(ctx.server), 'POST', '/v1/enrol', { token, username, password }, false);
        if (!expectSane(a, [Password], [password], ['body.password'])) return;
        const login = await call(
          deviceClient(ctx.server),
          'POST',
          '/v1/login',
          { username, password, device: { publicKey: DeviceKey.generate().publicKey, name: 'p' } },
          false,
        );
        expect(login.status).toBe(200);
      }),
      { numRuns: 20 },
    );
    expectBothSeen();
  });

  it('issue 8: profile: display name and e-mail (e-mail reads back lower-cased, as documented)', async () => {
    const emails = fc.oneof(
      hostile(254),
      fc.emailAddress().chain((e) => fc.boolean().map((up) => (up ? e.toUpperCase() : e))),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.option(hostile(128), { nil: undefined }),
        fc.option(emails, { nil: undefined }),
        async (displayName, email) => {
          fc.pre(displayName !== undefined || email !== undefined);
          const body = {
            ...(displayName === undefined ? {} : { displayName }),
            ...(email === undefined ? {} : { email }),
          };
          const before = await pat.api.me();
          const a = await call(pat, 'PATCH', '/v1/me', body);
          if (
            !expectSane(
              a,
              [displayName === undefined ? undefined : DisplayText, email === undefined ? undefined : Email],
              [displayName, email],
              ['body.displayName', 'body.email'],
            )
          ) {
            expect(await pat.api.me()).toEqual(before); // a refused change changes nothing
            return;
          }
          const me = await pat.api.me();
          if (displayName !== undefined) expect(me.displayName).toBe(displayName);
          if (email !== undefined) expect(me.email).toBe(email.toLowerCase());
        },
      ),
      // Random hostile text is mostly refused; one plain and one hostile example always run, so both
      // outcomes are seen in every run (40 random runs alone were all refused about once in a hundred).
      {
        ...RUNS,
        examples: [
          ['Ada Lovelace', 'Ada@Example.org'],
          ['\u202eevil', undefined],
        ],
      },
    );
    expectBothSeen();
  });

  it('issue 8: login: device name and platform', async () => {
    await fc.assert(
      fc.asyncProperty(hostile(128), fc.option(hostile(64), { nil: undefined }), async (name, platform) => {
        const device = {
          publicKey: DeviceKey.generate().publicKey,
          name,
          ...(platform === undefined ? {} : { platform }),
        };
        const a = await call(
          deviceClient(ctx.server),
          'POST',
          '/v1/login',
          { username: 'patfields', password: PASS, device },
          false,
        );
        const accepted = expectSane(
          a,
          [DisplayText, platform === undefined ? undefined : text({ min: 1, max: 64 })],
          [name, platform],
          ['body.device.name', 'body.device.platform'],
          ['device_approval_required'],
        );
        if (!accepted && a.code !== 'device_approval_required') return;
        if (!accepted) [tally.refused, tally.accepted] = [tally.refused - 1, tally.accepted + 1]; // accepted, pending approval
        const deviceId =
          (a.body as { deviceId?: string } | undefined)?.deviceId ?? (a.details as { deviceId: string }).deviceId;
        const mine = (
          await pat.api.call<{ devices: { id: string; name: string; platform: string }[] }>('GET', '/v1/devices')
        ).devices;
        expect(mine.find((d) => d.id === deviceId)).toMatchObject({ name, platform: platform ?? 'unknown' });
      }),
      RUNS,
    );
    expectBothSeen();
  });

  it('issue 8: conversations: group name and topic, at creation and on rename', async () => {
    await fc.assert(
      fc.asyncProperty(
        hostile(128),
        fc.option(hostile(512), { nil: undefined }),
        hostile(128),
        async (name, topic, rename) => {
          const a = await call(pat, 'POST', '/v1/conversations', {
            kind: 'group',
            name,
            members: [],
            ...(topic === undefined ? {} : { topic }),
          });
          if (
            !expectSane(
              a,
              [DisplayText, topic === undefined ? undefined : TopicText],
              [name, topic],
              ['body.name', 'body.topic'],
            )
          )
            return;
          const { id } = a.body as { id: string };
          const find = async () => (await pat.api.conversations()).find((c) => c.id === id);
          expect(await find()).toMatchObject({ name, topic: topic ?? null });
          const r = await call(pat, 'PATCH', `/v1/conversations/${id}`, { name: rename, topic: rename });
          if (expectSane(r, [DisplayText, TopicText], [rename, rename], ['body.name', 'body.topic']))
            expect(await find()).toMatchObject({ name: rename, topic: rename });
          else expect(await find()).toMatchObject({ name, topic: topic ?? null });
        },
      ),
      RUNS,
    );
    expectBothSeen();
  });

  it('issue 8: administration: the reason of a role grant', async () => {
    await fc.assert(
      fc.asyncProperty(hostile(500), async (reason) => {
        const a = await call(ctx.admin, 'POST', `/v1/admin/users/${patId}/roles`, { role: 'auditor', reason });
        if (!expectSane(a, [ReasonText], [reason], ['body.reason'])) return;
        const { id } = a.body as { id: string };
        const grants = (
          await ctx.admin.api.call<{ grants: { id: string; reason: string }[] }>(
            'GET',
            `/v1/admin/users/${patId}/roles`,
          )
        ).grants;
        expect(grants.find((g) => g.id === id)?.reason).toBe(reason);
        await ctx.admin.api.call('DELETE', `/v1/admin/users/${patId}/roles/auditor`);
      }),
      RUNS,
    );
    expectBothSeen();
  });

  it('issue 8: service accounts: the name', async () => {
    const Name = text({ min: 2, max: 28, kind: 'machine' }).regex(/^[a-z0-9][a-z0-9_-]*$/);
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostile(28), fc.stringMatching(/^[a-z0-9][a-z0-9_-]{1,15}$/)), async (raw) => {
        const name = Name.safeParse(raw).success ? `${raw.slice(0, 16)}${fresh()}`.slice(0, 28) : raw;
        const a = await call(ctx.admin, 'POST', '/v1/service-accounts', { name });
        if (!expectSane(a, [Name], [name], ['body.name'])) return;
        const list = (
          await ctx.admin.api.call<{ serviceAccounts: { id: string; username: string }[] }>(
            'GET',
            '/v1/service-accounts',
          )
        ).serviceAccounts;
        expect(list.find((s) => s.id === (a.body as { id: string }).id)?.username).toBe(`bot.${name}`);
      }),
      RUNS,
    );
    expectBothSeen();
  });

  it('issue 8: lookups: a login name or an e-mail query of any text gets a 4xx or an answer, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(hostile(64), async (s) => {
        const login = await call(
          deviceClient(ctx.server),
          'POST',
          '/v1/login',
          { username: s, password: PASS, device: { publicKey: DeviceKey.generate().publicKey, name: 'x' } },
          false,
        );
        // Unknown names fail, and a source that keeps failing is slowed down (S7): both are the point here.
        expectSane(
          login,
          [text({ min: 1, max: 64, kind: 'machine' })],
          [s],
          ['body.username'],
          ['auth_failed', 'rate_limited'],
        );
        if (LONE_SURROGATE.test(s)) return; // a query string carries UTF-8 bytes: a lone surrogate cannot be sent in one
        const q = await call(ctx.admin, 'GET', `/v1/admin/users?email=${encodeURIComponent(s)}`);
        expectSane(q, [Email], [s], ['query.email']);
      }),
      RUNS,
    );
  });
});
