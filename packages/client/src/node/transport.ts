import { request, Agent } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { connect, createSecureContext, type PeerCertificate, type SecureContext } from 'node:tls';
import { MAX_SERVER_FRAME_BYTES } from '@palisade/protocol';
import WebSocket from 'ws';
import type { HttpTransport, SocketFactory, SocketLike } from '../transport.js';
import { normaliseFingerprint, pinCheck, PinMismatchError, publicKeyFingerprint } from './tls-pin.js';

/**
 * How a Node client trusts the server. With neither `ca` nor `pinnedKey`: the system store (Node's
 * CAs plus NODE_EXTRA_CA_CERTS) and normal host-name verification.
 */
export interface NodeTlsOptions {
  /** Base URL, e.g. https://chat.example.org:8443 */
  baseUrl: string;
  /** PEM of a private CA to trust instead of the system store (host names still verified). */
  ca?: string;
  /**
   * SHA-256 of the server's public key (SPKI, colon hex; see `publicKeyFingerprint`) trusted on first
   * use: the certificate must carry this key, so a renewal with the same key keeps working. Each new
   * connection first fetches the certificate (sending nothing) and fails with `PinMismatchError` when
   * the key differs; the connection itself then trusts exactly that certificate and re-checks the pin.
   */
  pinnedKey?: string;
}

/** The TLS settings of one connection: a CA, and for a pinned server the pin check. */
interface ResolvedTls {
  ca?: string;
  checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
}

async function resolveTls(opts: NodeTlsOptions): Promise<ResolvedTls> {
  if (opts.pinnedKey === undefined) return { ca: opts.ca };
  const probe = await probeServer(opts.baseUrl);
  if (normaliseFingerprint(probe.keyFingerprint) !== normaliseFingerprint(opts.pinnedKey))
    throw new PinMismatchError(opts.pinnedKey, probe.keyFingerprint, probe.fingerprint);
  // SECURITY: a self-signed certificate is trusted only as itself; otherwise its chain must verify as
  // usual. Either way the handshake re-checks the pin, so a certificate swapped in between fails.
  return { ca: probe.selfSigned ? probe.pem : opts.ca, checkServerIdentity: pinCheck(opts.pinnedKey) };
}

/** HTTPS transport over a keep-alive agent, TLS 1.2 or later, certificates verified (or the key pinned). */
export function nodeHttp(opts: NodeTlsOptions): HttpTransport {
  let agent: Promise<Agent> | undefined;
  const getAgent = (): Promise<Agent> => {
    agent ??= resolveTls(opts).then(
      (tls) => new Agent({ keepAlive: true, ...tls, minVersion: 'TLSv1.2', maxSockets: 16 }),
    );
    agent.catch(() => (agent = undefined)); // a failed check is tried again on the next request
    return agent;
  };
  const base = new URL(opts.baseUrl);
  return {
    async request(method, path, bodyText, headers) {
      const a = await getAgent();
      return new Promise((resolve, reject) => {
        const data = bodyText;
        const req = request(
          {
            agent: a,
            hostname: base.hostname,
            port: base.port || 443,
            method,
            path,
            headers: {
              ...headers,
              ...(data !== undefined
                ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }
                : {}),
            },
          },
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

const contexts = new Map<string, SecureContext>();

/** A TLS client context trusting `ca` (TLS 1.2 or later), shared by the clients of this process (a few CAs at most). */
function contextFor(ca: string): SecureContext {
  let c = contexts.get(ca);
  if (c === undefined) {
    if (contexts.size >= 8) contexts.clear();
    c = createSecureContext({ ca, minVersion: 'TLSv1.2' });
    contexts.set(ca, c);
  }
  return c;
}

/** WebSocket factory (ws) with the same trust settings. The token never goes in the URL. */
export function nodeSockets(opts: NodeTlsOptions): SocketFactory {
  const base = new URL(opts.baseUrl);
  // With a fixed private CA, one TLS context serves every connection: building one parses the CA each
  // time (~0.3 ms of client CPU per reconnect). A pinned server's trust is resolved per connection.
  const tlsFor = async (): Promise<ResolvedTls | { secureContext: SecureContext }> =>
    opts.pinnedKey !== undefined || opts.ca === undefined ? resolveTls(opts) : { secureContext: contextFor(opts.ca) };
  return {
    open(path) {
      let ws: WebSocket | undefined;
      let closed = false;
      const s: SocketLike = {
        send: (t) => ws?.send(t),
        sendBinary: (d) => ws?.send(d),
        close: (code, reason) => {
          closed = true;
          ws?.close(code, reason);
        },
        onopen: null,
        onmessage: null,
        onbinary: null,
        onclose: null,
      };
      // Resolved per connection, so a reconnect after a renewal (same key) picks up the new certificate.
      tlsFor().then(
        (tls) => {
          if (closed) return void s.onclose?.(1000, 'closed');
          // SECURITY: a server message larger than the protocol bound is refused (1009), so a hostile or
          // broken server cannot make the client buffer without limit.
          const w = new WebSocket(`wss://${base.host}${path}`, {
            ...tls,
            minVersion: 'TLSv1.2',
            perMessageDeflate: false,
            handshakeTimeout: 10_000,
            maxPayload: MAX_SERVER_FRAME_BYTES,
          } as WebSocket.ClientOptions);
          ws = w;
          w.on('open', () => s.onopen?.());
          // binaryType 'nodebuffer': one Buffer per message.
          w.on('message', (d, isBinary) =>
            isBinary ? s.onbinary?.(d as Buffer) : s.onmessage?.((d as Buffer).toString()),
          );
          w.on('close', (code, reason) => s.onclose?.(code, reason.toString()));
          w.on('error', () => undefined);
        },
        (e: Error) => s.onclose?.(1015, e.message),
      );
      return s;
    },
  };
}

/** What a TLS handshake with the server showed, before anything was sent. */
export interface ServerProbe {
  /** The leaf certificate, PEM. */
  pem: string;
  /** SHA-256 of the certificate (colon hex), as the server prints it at start. */
  fingerprint: string;
  /** SHA-256 of its public key (colon hex): the value a pin keeps. */
  keyFingerprint: string;
  /** The chain verified against the trust given (`ca`, else the system store) and names the host. */
  authorized: boolean;
  /** Why not, e.g. `DEPTH_ZERO_SELF_SIGNED_CERT`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `ERR_TLS_CERT_ALTNAME_INVALID`. */
  authorizationError?: string;
  /** Issued by itself: nothing but a pin (trust on first use) can vouch for it. */
  selfSigned: boolean;
  issuer: string;
}

/**
 * Connects to the server, completes the TLS handshake and hangs up without sending anything: shows
 * whether the certificate verifies (against `ca`, else the system store, with the host name) and
 * what it is, for the decision of how to trust it.
 */
export function probeServer(baseUrl: string, opts: { ca?: string } = {}): Promise<ServerProbe> {
  const u = new URL(baseUrl);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const sock = connect(
      {
        host,
        port: Number(u.port || 443),
        servername: /^[\d.]+$|:/.test(host) ? undefined : host,
        rejectUnauthorized: false,
        ...(opts.ca ? { ca: opts.ca } : {}),
      },
      () => {
        const cert = sock.getPeerCertificate();
        const authorized = sock.authorized;
        const why = sock.authorizationError;
        sock.end();
        if (!cert?.raw) return reject(new Error('server sent no certificate'));
        const x = new X509Certificate(cert.raw);
        resolve({
          pem: x.toString(),
          fingerprint: x.fingerprint256,
          keyFingerprint: publicKeyFingerprint(x),
          authorized,
          ...(why
            ? {
                authorizationError:
                  typeof why === 'string' ? why : ((why as Error & { code?: string }).code ?? why.message),
              }
            : {}),
          // Not checkIssued: it also wants keyCertSign, which a server certificate does not carry.
          selfSigned: x.subject === x.issuer && x.verify(x.publicKey),
          issuer: x.issuer.replace(/\n/g, ', '),
        });
      },
    );
    sock.on('error', reject);
    sock.setTimeout(10_000, () => sock.destroy(new Error('timed out')));
  });
}

/**
 * Fetches the server's certificate without sending anything.
 * @deprecated use `probeServer`, which also says whether it verifies and gives the key fingerprint.
 */
export async function fetchServerCertificate(baseUrl: string): Promise<{ pem: string; fingerprint: string }> {
  const p = await probeServer(baseUrl);
  return { pem: p.pem, fingerprint: p.fingerprint };
}
