import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintNames, normaliseFingerprint, pinCheck, PinMismatchError, publicKeyFingerprint } from './tls-pin.js';
import { nodeHttp, probeServer } from './transport.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-pin-'));

/** A self-signed localhost certificate (openssl CLI); `newKey` false renews the existing key. */
function selfSigned(name: string, keyName: string, newKey: boolean): { cert: string; key: string } {
  const keyFile = join(dir, `${keyName}.key`);
  const certFile = join(dir, `${name}.pem`);
  const keyArgs = newKey
    ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile]
    : ['-key', keyFile];
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      ...keyArgs,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-addext',
      'basicConstraints=critical,CA:FALSE',
    ],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

let a1: { cert: string; key: string };
let a2: { cert: string; key: string }; // a renewal of a1: same key, new certificate
let b: { cert: string; key: string }; // a new key
beforeAll(() => {
  a1 = selfSigned('a1', 'a', true);
  a2 = selfSigned('a2', 'a', false);
  b = selfSigned('b', 'b', true);
});

describe('public-key pins', () => {
  it('a renewal with the same key keeps the key fingerprint; a new key changes it; certificate fingerprints differ', () => {
    expect(a2.cert).not.toBe(a1.cert);
    expect(publicKeyFingerprint(a2.cert)).toBe(publicKeyFingerprint(a1.cert));
    expect(publicKeyFingerprint(b.cert)).not.toBe(publicKeyFingerprint(a1.cert));
    expect(new X509Certificate(a2.cert).fingerprint256).not.toBe(new X509Certificate(a1.cert).fingerprint256);
    expect(publicKeyFingerprint(a1.cert)).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('a typed fingerprint names the certificate or its key, with or without colons, in any case, and only in full', () => {
    const x = new X509Certificate(a1.cert);
    const cert = { fingerprint: x.fingerprint256, keyFingerprint: publicKeyFingerprint(x) };
    expect(fingerprintNames(x.fingerprint256, cert)).toBe(true);
    expect(fingerprintNames(x.fingerprint256.replace(/:/g, '').toLowerCase(), cert)).toBe(true);
    expect(fingerprintNames(cert.keyFingerprint.toLowerCase(), cert)).toBe(true);
    expect(fingerprintNames(x.fingerprint256.slice(0, 47), cert)).toBe(false);
    expect(fingerprintNames(new X509Certificate(b.cert).fingerprint256, cert)).toBe(false);
    expect(fingerprintNames('', cert)).toBe(false);
    expect(normaliseFingerprint('ab:Cd ef')).toBe('ABCDEF');
  });

  it('the handshake check accepts the pinned key in a renewed certificate and refuses another key with both fingerprints', () => {
    const check = pinCheck(publicKeyFingerprint(a1.cert));
    const raw = (pem: string) => ({ raw: new X509Certificate(pem).raw }) as Parameters<typeof check>[1];
    expect(check('ignored.example', raw(a2.cert))).toBeUndefined();
    const err = check('localhost', raw(b.cert));
    expect(err).toBeInstanceOf(PinMismatchError);
    expect(err).toMatchObject({
      pinned: publicKeyFingerprint(a1.cert),
      presented: publicKeyFingerprint(b.cert),
      certFingerprint: new X509Certificate(b.cert).fingerprint256,
    });
  });
});

describe('pinned HTTPS transport against a real TLS server', () => {
  let server: Server | undefined;
  let requests = 0;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));
  const serve = (pair: { cert: string; key: string }) =>
    new Promise<string>((resolve) => {
      server = createServer(pair, (_req, res) => {
        requests++;
        res.setHeader('content-type', 'application/json').end('{"ok":true}');
      }).listen(0, '127.0.0.1', () => resolve(`https://127.0.0.1:${(server!.address() as AddressInfo).port}`));
    });

  it('works with the pinned key, also after a renewal with the same key, without a CA', async () => {
    const pin = publicKeyFingerprint(a1.cert);
    for (const pair of [a1, a2]) {
      const url = await serve(pair);
      await expect(nodeHttp({ baseUrl: url, pinnedKey: pin }).request('GET', '/x', undefined, {})).resolves.toEqual({
        status: 200,
        body: { ok: true },
      });
      await new Promise<void>((r) => server!.close(() => r()));
      server = undefined;
    }
  });

  it('refuses a different key before sending a request, and the probe shows why the system store refuses it', async () => {
    const url = await serve(b);
    requests = 0;
    const err = await nodeHttp({ baseUrl: url, pinnedKey: publicKeyFingerprint(a1.cert) })
      .request('POST', '/v1/login', '{"password":"x"}', {})
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PinMismatchError);
    expect(requests).toBe(0);
    // The handshake check alone (a certificate swapped in after the probe, trusted as a CA): refused too.
    const swapped = await new Promise<unknown>((resolve) => {
      const req = request(
        `${url}/v1/login`,
        { method: 'POST', ca: b.cert, checkServerIdentity: pinCheck(publicKeyFingerprint(a1.cert)) },
        () => resolve('answered'),
      );
      req.on('error', resolve);
      req.end('{"password":"x"}');
    });
    expect(swapped).toBeInstanceOf(PinMismatchError);
    expect(requests).toBe(0);
    const probe = await probeServer(url);
    expect(probe).toMatchObject({
      authorized: false,
      authorizationError: 'DEPTH_ZERO_SELF_SIGNED_CERT',
      selfSigned: true,
      keyFingerprint: publicKeyFingerprint(b.cert),
    });
    expect(requests).toBe(0);
  });
});
