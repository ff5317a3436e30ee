import { isUtf8 } from 'node:buffer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes } from 'fastify';
import { ERROR_CODES } from '@palisade/protocol';
import { silentLogger } from '../core/index.js';
import type { Core } from '../server/index.js';
import { injectableApp } from '../test-support/http-app.js';
import { parseRawResponse, rawExchange, startLiveServer, type LiveServer } from '../test-support/live-server.js';
import { buildHttpApp, SECURITY_HEADERS } from './app.js';
import { FRAMEWORK_ERRORS, toHttpError } from './error-map.js';

/** A marker put into hostile input; it must never come back in a response. */
const MARK = 'zqxMARKqxz';

/** Asserts a raw response is ours: status, `{code, message}` with a published code, security headers, no echo. */
function expectOurs(text: string, status: number, code: string): void {
  const res = parseRawResponse(text);
  expect(res.status, text.slice(0, 200)).toBe(status);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['code', 'message']);
  expect(body.code).toBe(code);
  expect(Object.hasOwn(ERROR_CODES, code)).toBe(true);
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) expect(res.headers[k], k).toBe(v);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(text).not.toContain(MARK);
}

const req = (head: string, body = '') =>
  `${head}\r\nhost: localhost\r\nconnection: close\r\n${body ? `content-length: ${Buffer.byteLength(body)}\r\n` : ''}\r\n${body}`;

/**
 * A live trigger for each Fastify error a client can cause (raw bytes over TLS), or the reason it
 * cannot be reached through this server.
 */
const TRIGGERS: Record<string, { bytes: string; status: number } | { unreachable: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    bytes: req('POST /v1/login HTTP/1.1\r\ncontent-type: application/json', `"${MARK}${'x'.repeat(200_000)}"`),
    status: 413,
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    bytes: req(`POST /v1/login HTTP/1.1\r\ncontent-type: text/${MARK}`, `{"a":"${MARK}"}`),
    status: 415,
  },
  FST_ERR_BAD_URL: { bytes: req(`GET /v1/conversations/%E0%A4%A${MARK}/messages HTTP/1.1`), status: 400 },
  FST_ERR_MAX_PARAM_LENGTH: {
    bytes: req(`GET /v1/conversations/${MARK}${'a'.repeat(120)}/messages HTTP/1.1`),
    status: 414,
  },
  FST_ERR_NOT_FOUND: { bytes: req(`GET /v1/${MARK} HTTP/1.1`), status: 404 },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    unreachable:
      "Node's parser frames the body by Content-Length, so the byte count always matches (a short body is an aborted request)",
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    unreachable: "Fastify's JSON parser is removed; ours answers an empty body with bad_json (tested below)",
  },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    unreachable: "Fastify's JSON parser is removed; ours answers bad JSON with bad_json",
  },
  FST_ERR_INVALID_URL: { unreachable: 'only inject() can pass a non-string URL' },
  FST_ERR_ROUTE_MISSING_CONTENT_TYPE: { unreachable: 'raised only for the QUERY method, which no route uses' },
  FST_ERR_ROUTE_MISSING_CONTENT: { unreachable: 'not raised by this Fastify version' },
  FST_ERR_VALIDATION: { unreachable: 'routes validate with zod, not Fastify schemas' },
  FST_ERR_HANDLER_TIMEOUT: { unreachable: 'no route sets handlerTimeout' },
};

describe('hostile input: every HTTP-layer error answers our shape (real server, raw TLS)', () => {
  let server: LiveServer;
  beforeAll(async () => {
    server = await startLiveServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('maps every error in fastify.errorCodes to a published code with a fixed message', () => {
    const names = Object.keys(errorCodes);
    expect(names.length).toBeGreaterThan(50);
    for (const name of names) {
      const Err = errorCodes[name as keyof typeof errorCodes] as unknown as new (
        ...a: string[]
      ) => Error & { statusCode: number };
      const err = new Err(MARK, MARK, MARK);
      const { status, body } = toHttpError(err, silentLogger);
      expect(Object.hasOwn(ERROR_CODES, body.code), name).toBe(true);
      expect(JSON.stringify(body), name).not.toContain(MARK);
      if (FRAMEWORK_ERRORS[name])
        expect([status, body.code], name).toEqual([FRAMEWORK_ERRORS[name].status, FRAMEWORK_ERRORS[name].code]);
      // Everything else is a setup or programming error: internal, with a reference only.
      else if (err.statusCode >= 500) expect([status, body.code], name).toEqual([500, 'internal']);
      else expect(body.code, name).toBe('bad_request');
    }
    // Every error a client can cause has a live trigger or a stated reason.
    for (const name of Object.keys(FRAMEWORK_ERRORS)) expect(TRIGGERS[name], name).toBeDefined();
  });

  for (const [name, t] of Object.entries(TRIGGERS)) {
    if (!('bytes' in t)) continue;
    it(`${name} answers ${t.status} ${FRAMEWORK_ERRORS[name]?.code} with the security headers and no echo`, async () => {
      const r = await rawExchange(server, t.bytes);
      expectOurs(r.text, t.status, FRAMEWORK_ERRORS[name]!.code);
    });
  }

  const malformed: [string, string, number, string][] = [
    ['a bad request line', `GET /v1/me ${MARK}/1.1\r\n\r\n`, 400, 'bad_http'],
    ['binary garbage', `\x00\x01\x02${MARK}\r\n\r\n`, 400, 'bad_http'],
    ['an invalid header name', `GET /healthz HTTP/1.1\r\nhost: x\r\nbad ${MARK}: v\r\n\r\n`, 400, 'bad_http'],
    ['an unknown method', `${MARK.toUpperCase()} /v1/me HTTP/1.1\r\nhost: x\r\n\r\n`, 400, 'bad_http'],
    [
      'Content-Length with chunked encoding',
      `POST /v1/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n`,
      400,
      'bad_http',
    ],
    [
      'headers over 16 KiB',
      `GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${MARK}${'a'.repeat(20_000)}\r\n\r\n`,
      431,
      'headers_too_large',
    ],
    ['a method no route has', req(`PROPFIND /v1/me?${MARK} HTTP/1.1`), 404, 'not_found'],
    [
      'a POST with a JSON type and no body',
      req('POST /v1/login HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: 0'),
      400,
      'bad_json',
    ],
  ];
  for (const [what, bytes, status, code] of malformed) {
    it(`hostile input: ${what} answers ${status} ${code} in our shape`, async () => {
      const r = await rawExchange(server, bytes);
      expectOurs(r.text, status, code);
    });
  }

  it('hostile input: a POST with invalid UTF-8 in the body answers 400 bad_json (not U+FFFD)', async () => {
    const body = Buffer.concat([
      Buffer.from('{"username":"a'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('","password":"x"}'),
    ]);
    const head = `POST /v1/login HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
    const r = await rawExchange(server, Buffer.concat([Buffer.from(head), body]));
    expectOurs(r.text, 400, 'bad_json');
  });
});

describe('hostile input: strict UTF-8 bodies (property)', () => {
  let core: Core;
  let app: ReturnType<typeof buildHttpApp>;
  beforeAll(async () => {
    ({ core, app } = await injectableApp('utf8'));
  });
  afterAll(async () => {
    await app?.close();
    await core?.store.close();
  });

  // An authenticated route without credentials: the body is parsed first, so a parse error shows as
  // bad_json, and any parseable body reaches authentication (401) without hashing a password.
  const post = (payload: Buffer) =>
    app.inject({ method: 'POST', url: '/v1/conversations', headers: { 'content-type': 'application/json' }, payload });

  it('any byte string that is not valid UTF-8 gets 400 bad_json; any valid JSON text does not', async () => {
    const { default: fc } = await import('fast-check');
    const invalid = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 200 }).filter((b) => !isUtf8(b)),
      // Valid JSON with one invalid sequence spliced in (lone continuation, overlong, surrogate, truncated).
      fc
        .tuple(
          fc.json(),
          fc.constantFrom([0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xff]),
          fc.nat(),
        )
        .map(([j, bad, at]) => {
          const b = Buffer.from(j);
          const i = at % (b.length + 1);
          return Buffer.concat([b.subarray(0, i), Buffer.from(bad), b.subarray(i)]);
        }),
    );
    await fc.assert(
      fc.asyncProperty(invalid, async (bytes) => {
        expect(isUtf8(bytes)).toBe(false);
        const res = await post(Buffer.from(bytes));
        expect([res.statusCode, (JSON.parse(res.body) as { code?: string }).code]).toEqual([400, 'bad_json']);
      }),
      { numRuns: 300 },
    );
    await fc.assert(
      fc.asyncProperty(fc.json({ depthSize: 'small' }), fc.constantFrom('', ' ', '\n'), async (text, pad) => {
        const res = await post(Buffer.from(pad + text + pad));
        expect((JSON.parse(res.body) as { code?: string }).code).not.toBe('bad_json');
      }),
      { numRuns: 300 },
    );
  });
});
