import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { nodeSockets } from './transport.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-ctx-'));

/** A self-signed localhost certificate (openssl CLI). */
function selfSigned(name: string): { cert: string; key: string } {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.pem`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      keyFile,
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

/** An HTTPS server with a WebSocket endpoint, serving `pair`'s certificate. */
async function wsServer(pair: { cert: string; key: string }): Promise<{ url: string; server: Server }> {
  const server = createServer({ cert: pair.cert, key: pair.key });
  new WebSocketServer({ server });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Opens a socket through `nodeSockets` and says whether it opened or closed first. */
function attempt(baseUrl: string, ca: string): Promise<'open' | 'closed'> {
  return new Promise((resolve) => {
    const s = nodeSockets({ baseUrl, ca }).open('/');
    s.onopen = () => {
      resolve('open');
      s.close(1000, 'done');
    };
    s.onclose = () => resolve('closed');
  });
}

let a: { url: string; server: Server };
let b: { url: string; server: Server };
let certA: string;
let certB: string;
beforeAll(async () => {
  const pa = selfSigned('a');
  const pb = selfSigned('b');
  certA = pa.cert;
  certB = pb.cert;
  a = await wsServer(pa);
  b = await wsServer(pb);
});
afterAll(() => {
  a.server.closeAllConnections();
  b.server.closeAllConnections();
  a.server.close();
  b.server.close();
});

// SECURITY: the TLS context is shared per CA (one parse of the CA for every reconnect), never across CAs.
describe('node sockets share one TLS context per private CA', () => {
  it('trusts each server only through its own CA, however often the contexts are reused', async () => {
    for (let i = 0; i < 3; i++) {
      expect(await attempt(a.url, certA)).toBe('open');
      expect(await attempt(b.url, certA)).toBe('closed'); // A's cached context does not vouch for B
      expect(await attempt(a.url, certB)).toBe('closed');
      expect(await attempt(b.url, certB)).toBe('open');
    }
  });
});
