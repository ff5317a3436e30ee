import { request as httpRequest } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { deviceProofMessage, httpProofMessage } from '@palisade/protocol';
import WebSocket from 'ws';
import { DRILL_HEADER, DRILL_SOURCE_HEADER } from '../core/index.js';
import { generateEd25519Key, sha256Hex, type Ed25519Signer } from '../crypto/index.js';

/** A JSON answer. */
export interface JsonResponse {
  status: number;
  json: Record<string, unknown>;
}

function parse(text: string): Record<string, unknown> {
  if (!text) return {};
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : { value: v };
  } catch {
    return { text: text.slice(0, 200) };
  }
}

/** One call to the admin socket (a unix socket; trusted by its file permissions). */
export function adminCall(socketPath: string, method: string, url: string, body?: unknown): Promise<JsonResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { socketPath, method, path: url, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Where the public HTTPS port is and which certificate to trust. */
export interface DrillTarget {
  baseUrl: string;
  /** PEM the server's certificate must chain to (its own self-signed certificate, usually). */
  ca: string;
}

/**
 * An HTTPS client acting as one device of a drill: every request carries the drill token and,
 * when `source` is set, the TEST-NET address it acts from. Authenticated calls carry the bearer
 * token and a device proof signed by `key` (another key than the session's: a stolen-token attack).
 * SECURITY: the server's certificate is verified against `ca`; the host name is not checked because
 * a self-signed certificate names only what its server chose (the CA is that certificate itself).
 */
export class DrillDevice {
  readonly key: Ed25519Signer = generateEd25519Key().signer;
  token: string | undefined;
  requests = 0;
  /** How many answers of each status this device got (a step's report shows them). */
  readonly statuses: Record<string, number> = {};
  private lastProof = 0;

  constructor(
    private readonly target: DrillTarget,
    private readonly agent: Agent,
    private readonly drillToken: string,
    readonly source: string | undefined,
  ) {}

  /** Forgets the counts so far (set-up), so the step's figures count only the attack. */
  resetCounts(): void {
    this.requests = 0;
    for (const k of Object.keys(this.statuses)) delete this.statuses[k];
  }

  /** The device public key as the login body wants it. */
  get publicKey(): string {
    return Buffer.from(this.key.publicKey).toString('base64url');
  }

  /** One request; `auth` signs it with this device's key over `token` (default this.token). */
  call(
    method: string,
    path: string,
    body?: unknown,
    opts: { auth?: boolean; token?: string } = {},
  ): Promise<JsonResponse> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { [DRILL_HEADER]: this.drillToken };
    if (this.source !== undefined) headers[DRILL_SOURCE_HEADER] = this.source;
    if (text !== undefined) headers['content-type'] = 'application/json';
    const token = opts.token ?? this.token;
    if (opts.auth && token !== undefined) {
      const ts = Math.max(Date.now(), this.lastProof + 1);
      this.lastProof = ts;
      const message = httpProofMessage({
        method,
        pathAndQuery: path,
        unixMs: ts,
        bodySha256: sha256Hex(text ?? ''),
        sessionSha256: sha256Hex(token),
      });
      headers.authorization = `Bearer ${token}`;
      headers['x-palisade-proof'] =
        `${ts}.${Buffer.from(this.key.sign(new TextEncoder().encode(message))).toString('base64url')}`;
    }
    this.requests++;
    const url = new URL(path, this.target.baseUrl);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        { method, headers, agent: this.agent, ca: this.target.ca, checkServerIdentity: () => undefined },
        (res) => {
          let t = '';
          res.on('data', (c) => (t += c));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            this.statuses[status] = (this.statuses[status] ?? 0) + 1;
            resolve({ status, json: parse(t) });
          });
        },
      );
      req.on('error', reject);
      req.end(text);
    });
  }

  /**
   * Opens the WebSocket with the drill headers and answers the challenge with `token` signed by this
   * device's key; resolves with the close code (or 0 when the server kept the socket open for 2 s).
   */
  socketAuth(token: string): Promise<number> {
    const headers: Record<string, string> = { [DRILL_HEADER]: this.drillToken };
    if (this.source !== undefined) headers[DRILL_SOURCE_HEADER] = this.source;
    const url = new URL('/v1/ws', this.target.baseUrl.replace(/^http/, 'ws'));
    this.requests++;
    return new Promise((resolve) => {
      // ws types this hook as returning a boolean; it reaches tls.connect, where undefined means "fine".
      const checkServerIdentity = (() => undefined) as unknown as WebSocket.ClientOptions['checkServerIdentity'];
      const ws = new WebSocket(url, { headers, ca: this.target.ca, checkServerIdentity });
      const done = (code: number) => {
        clearTimeout(timer);
        this.statuses[`ws ${code}`] = (this.statuses[`ws ${code}`] ?? 0) + 1;
        ws.terminate();
        resolve(code);
      };
      const timer = setTimeout(() => done(0), 2_000);
      ws.on('message', (data: Buffer) => {
        const frames = ([] as unknown[]).concat(JSON.parse(data.toString('utf8')));
        const challenge = frames.find(
          (f): f is { type: 'challenge'; nonce: string } => (f as { type?: string }).type === 'challenge',
        );
        if (!challenge) return;
        const sig = this.key.sign(new TextEncoder().encode(deviceProofMessage(challenge.nonce)));
        ws.send(JSON.stringify({ type: 'auth', token, signature: Buffer.from(sig).toString('base64url') }));
      });
      ws.on('close', (code) => done(code));
      ws.on('error', () => done(-1));
      ws.on('unexpected-response', (_req, res) => done(res.statusCode ?? -1));
    });
  }

  /** Logs in as this device; keeps the session token on success. */
  async login(username: string, password: string): Promise<JsonResponse> {
    const r = await this.call('POST', '/v1/login', {
      username,
      password,
      device: { publicKey: this.publicKey, name: 'drill device', platform: 'drill' },
    });
    if (r.status === 200 && typeof r.json.token === 'string') this.token = r.json.token;
    return r;
  }
}

/** A keep-alive agent for a drill's devices. */
export function drillAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 8, minVersion: 'TLSv1.2' });
}
