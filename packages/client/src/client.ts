import { Api } from './api.js';
import { DeviceKey } from './device-key.js';
import { Realtime, type RealtimeHandlers, type RealtimeOptions } from './realtime.js';
import type { HttpTransport, SocketFactory } from './transport.js';

/** How to build a client. */
export interface ClientOptions {
  http: HttpTransport;
  sockets: SocketFactory;
  /** This device's key; generate one with `DeviceKey.generate()` and keep it in protected storage. */
  deviceKey: DeviceKey;
  /** A session token from an earlier login, if any. */
  token?: string;
  handlers?: RealtimeHandlers;
  /** Live-connection options (e.g. the send timeout). */
  realtime?: RealtimeOptions;
}

let counter = 0;

/** A fresh client message id: time, counter and randomness, url-safe. */
export function newClientMsgId(): string {
  const rnd = new Uint8Array(8);
  crypto.getRandomValues(rnd);
  return `${Date.now().toString(36)}-${(counter++).toString(36)}-${Array.from(rnd, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * The Palisade client: log in, talk to the HTTP API, and keep a live connection that delivers each
 * message once and in order, across reconnects and server restarts.
 */
export class PalisadeClient {
  readonly api: Api;
  readonly realtime: Realtime;
  readonly deviceKey: DeviceKey;

  constructor(opts: ClientOptions) {
    this.deviceKey = opts.deviceKey;
    this.api = new Api(opts.http, opts.deviceKey);
    this.api.token = opts.token;
    this.realtime = new Realtime(
      opts.sockets,
      opts.deviceKey,
      () => this.api.token,
      opts.handlers ?? {},
      opts.realtime,
    );
  }

  /** The current session token (store it as a secret). */
  get token(): string | undefined {
    return this.api.token;
  }

  /** Event handlers; set before `connect()`. */
  get on(): RealtimeHandlers {
    return this.realtime.handlers;
  }

  /** Logs in with a password; the device key is registered (or recognised) by the server. */
  login(username: string, password: string, deviceName: string, platform?: string) {
    return this.api.login({ username, password, deviceName, platform });
  }

  /** Opens the live connection and resolves after the initial catch-up. */
  connect(): Promise<void> {
    return this.realtime.connect();
  }

  /** Sends an opaque payload; resolves with the sequence number after the server committed it. */
  send(conversationId: string, payload: Uint8Array, clientMsgId: string = newClientMsgId()): Promise<number> {
    return this.realtime.send(conversationId, clientMsgId, payload);
  }

  /** Tells the others this user is typing (ephemeral). */
  typing(conversationId: string): boolean {
    return this.realtime.sendFrame({ type: 'typing', conversationId });
  }

  /** Marks the conversation read up to `seq`. */
  markRead(conversationId: string, seq: number): boolean {
    return this.realtime.sendFrame({ type: 'read', conversationId, seq });
  }

  /** Ends the session on the server and closes the connection. */
  async logout(): Promise<void> {
    try {
      await this.api.logout();
    } finally {
      this.realtime.close();
      this.api.token = undefined;
    }
  }

  /** Closes the connection (the session stays valid). */
  close(): void {
    this.realtime.close();
  }

  /** After `close()`: resolves once the server has answered the close (at most `maxMs`); await it before exiting. */
  closed(maxMs = 1000): Promise<void> {
    return this.realtime.closed(maxMs);
  }
}
