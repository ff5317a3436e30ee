import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SessionGrant } from '@palisade/protocol';
import type { Api } from '../api.js';
import { PalisadeError } from '../errors.js';

/** The path the server redirects the browser to on this machine's loopback listener. */
export const SSO_LOOPBACK_PATH = '/palisade-sso';
const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const SECRET = /^[A-Za-z0-9_-]{16,128}$/;

/** How `ssoLoopbackSignIn` runs. */
export interface LoopbackSignInOptions {
  /** The name this device gets (shown on the browser page and in the user's device list). */
  deviceName: string;
  platform?: string;
  /**
   * Called with the link to open in the browser on THIS machine (print it, or open a browser). It is
   * not awaited before listening: the browser may arrive while it still runs; a rejection ends the sign-in.
   */
  onBrowserUrl: (browserUrl: string, expiresAt: string) => void | Promise<void>;
  /** Port to listen on, 1024-65535 (for an SSH port forward); default: an ephemeral port. */
  port?: number;
  /** How long to wait for the browser (default 5 minutes, never past the sign-on's expiry). */
  timeoutMs?: number;
}

/** No browser reached the loopback listener in time. */
export class SsoLoopbackTimeoutError extends Error {
  constructor(minutes: number) {
    super(
      `no sign-in reached this computer within ${minutes} minute(s). Open the link in a browser on THIS computer; ` +
        'a browser on another computer cannot finish this sign-on. If you run palisade-chat on a remote host over SSH, ' +
        'use `palisade-chat sso --no-loopback`, or forward the listener with `ssh -L <port>:127.0.0.1:<port>` and `--loopback-port <port>`.',
    );
    this.name = 'SsoLoopbackTimeoutError';
  }
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The small page the browser gets. SECURITY: no-store, no referrer, and a CSP that allows nothing (no
 * script, style, image or frame); the device name is HTML-escaped.
 */
function page(res: ServerResponse, status: number, text: string): void {
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Palisade</title></head><body><p>${escapeHtml(text)}</p></body></html>`;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    connection: 'close',
  });
  res.end(body);
}

/** What the listener waits for, once the sign-on has started. */
interface Expectation {
  ssoId: string;
  deviceName: string;
  complete: (completion: string) => Promise<SessionGrant>;
  resolve: (g: SessionGrant) => void;
  reject: (e: unknown) => void;
}

/**
 * A one-shot HTTP listener on 127.0.0.1 (RFC 8252 section 7.3). It takes the first request for this
 * sign-on, collects the session with its completion secret, answers the browser, and takes no other.
 */
class LoopbackListener {
  private expected: Expectation | undefined;
  private done = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.handle(req, res));
  }

  static async open(port: number): Promise<LoopbackListener> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // SECURITY: the loopback interface only; never 0.0.0.0.
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return new LoopbackListener(server, (server.address() as AddressInfo).port);
  }

  wait(e: Omit<Expectation, 'resolve' | 'reject'>): Promise<SessionGrant> {
    return new Promise((resolve, reject) => {
      this.expected = { ...e, resolve, reject };
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const e = this.expected;
    if (this.done || !e)
      return page(res, 410, 'Palisade: this sign-in link is no longer in use; you can close this tab.');
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${this.port}`);
    // SECURITY: the Host check stops a web page that rebinds its own name to 127.0.0.1 from talking to us.
    if (req.method !== 'GET' || req.headers.host !== `127.0.0.1:${this.port}` || url.pathname !== SSO_LOOPBACK_PATH)
      return page(res, 404, 'Palisade: not found.');
    const completion = url.searchParams.get('c') ?? '';
    if (url.searchParams.get('ssoId') !== e.ssoId || !SECRET.test(completion))
      return page(res, 400, 'Palisade: this is not the sign-in this device is waiting for.');
    this.done = true;
    e.complete(completion).then(
      (grant) => {
        page(res, 200, `Palisade: signed in on ${e.deviceName}; you can close this tab.`);
        e.resolve(grant);
      },
      (err: unknown) => {
        page(
          res,
          400,
          `Palisade: the sign-in on ${e.deviceName} failed (${err instanceof PalisadeError ? err.code : 'error'}); start again on the device.`,
        );
        e.reject(err);
      },
    );
  }

  /** Stops listening: the server closes and no further browser is answered. */
  fail(err: unknown): void {
    if (this.done) return;
    this.done = true;
    this.expected?.reject(err);
  }

  /** Stops listening; the answered browser's connection ends after its page (connection: close). */
  close(): void {
    this.done = true;
    this.server.close();
    this.server.closeIdleConnections();
    setTimeout(() => this.server.closeAllConnections(), 1000).unref();
  }
}

/**
 * Single sign-on with RFC 8252 loopback completion: listens once on 127.0.0.1 (an ephemeral port unless
 * `port` is given), starts the sign-on with that port, hands the browser link to `onBrowserUrl`, waits for
 * the server's redirect to the listener, collects the session with the one-time completion secret, and
 * answers the browser with a short page. Resolves with the session (the api keeps its token).
 * SECURITY (S1): the completion secret reaches only the loopback of the machine whose browser signed in;
 * a link forwarded to someone else's browser ends on that person's own loopback, so it signs in nothing here.
 * @throws SsoLoopbackTimeoutError when no browser arrives in time; PalisadeError when the server refuses.
 */
export async function ssoLoopbackSignIn(api: Api, opts: LoopbackSignInOptions): Promise<SessionGrant> {
  const listener = await LoopbackListener.open(opts.port ?? 0);
  let timer: NodeJS.Timeout | undefined;
  try {
    const start = await api.ssoStart(opts.deviceName, opts.platform, { loopback: { port: listener.port } });
    const waiting = listener.wait({
      ssoId: start.ssoId,
      deviceName: opts.deviceName,
      complete: async (c) => {
        const grant = await api.ssoComplete(start.ssoId, c);
        if (!grant)
          throw new PalisadeError({
            code: 'sso_completion_required',
            message: 'the server did not hand out the session',
          });
        return grant;
      },
    });
    const timeoutMs = Math.max(
      1,
      Math.min(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, Date.parse(start.expiresAt) - Date.now()),
    );
    timer = setTimeout(() => listener.fail(new SsoLoopbackTimeoutError(Math.ceil(timeoutMs / 60_000))), timeoutMs);
    Promise.resolve()
      .then(() => opts.onBrowserUrl(start.browserUrl, start.expiresAt))
      .catch((e: unknown) => listener.fail(e));
    return await waiting;
  } finally {
    clearTimeout(timer);
    listener.close();
  }
}
