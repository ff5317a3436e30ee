import { request, Agent } from 'node:https';
import { connect } from 'node:tls';
import WebSocket from 'ws';
import type { HttpTransport, SocketFactory, SocketLike } from '../transport.js';

/** How a Node client trusts the server. */
export interface NodeTlsOptions {
  /** Base URL, e.g. https://chat.example.org:8443 */
  baseUrl: string;
  /** PEM of a CA (or of the server's self-signed certificate) to trust instead of the system store. */
  ca?: string;
}

/** HTTPS transport over a keep-alive agent, TLS 1.2 or later, certificates verified. */
export function nodeHttp(opts: NodeTlsOptions): HttpTransport {
  const agent = new Agent({ keepAlive: true, ca: opts.ca, minVersion: 'TLSv1.2', maxSockets: 16 });
  const base = new URL(opts.baseUrl);
  return {
    request(method, path, bodyText, headers) {
      return new Promise((resolve, reject) => {
        const data = bodyText;
        const req = request(
          { agent, hostname: base.hostname, port: base.port || 443, method, path, headers: { ...headers, ...(data !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              let parsed: unknown = text;
              try {
                parsed = text ? JSON.parse(text) : undefined;
              } catch {
                /* keep text */
              }
              resolve({ status: res.statusCode ?? 0, body: parsed });
            });
          },
        );
        req.on('error', reject);
        req.setTimeout(30_000, () => req.destroy(new Error('request timed out')));
        req.end(data);
      });
    },
  };
}

/** WebSocket factory (ws) with the same trust settings. The token never goes in the URL. */
export function nodeSockets(opts: NodeTlsOptions): SocketFactory {
  const base = new URL(opts.baseUrl);
  return {
    open(path) {
      const ws = new WebSocket(`wss://${base.host}${path}`, { ca: opts.ca, minVersion: 'TLSv1.2', perMessageDeflate: false, handshakeTimeout: 10_000 });
      const s: SocketLike = {
        send: (t) => ws.send(t),
        close: (code, reason) => ws.close(code, reason),
        onopen: null,
        onmessage: null,
        onclose: null,
      };
      ws.on('open', () => s.onopen?.());
      ws.on('message', (d) => s.onmessage?.((d as Buffer).toString())); // binaryType 'nodebuffer': one Buffer per message
      ws.on('close', (code, reason) => s.onclose?.(code, reason.toString()));
      ws.on('error', () => undefined);
      return s;
    },
  };
}

/**
 * Fetches the server's certificate without sending anything, for trust on first use: show the
 * fingerprint to the person, and save the PEM as `ca` once they confirm it.
 */
export function fetchServerCertificate(baseUrl: string): Promise<{ pem: string; fingerprint: string }> {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const sock = connect({ host: u.hostname, port: Number(u.port || 443), servername: /^[\d.]+$/.test(u.hostname) ? undefined : u.hostname, rejectUnauthorized: false }, () => {
      const cert = sock.getPeerCertificate();
      sock.end();
      if (!cert?.raw) return reject(new Error('server sent no certificate'));
      const b64 = cert.raw.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
      resolve({ pem: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`, fingerprint: cert.fingerprint256 });
    });
    sock.on('error', reject);
    sock.setTimeout(10_000, () => sock.destroy(new Error('timed out')));
  });
}
