// The few parts of @xmpp/client 0.14 (which ships no types) that the ejabberd bench target uses.
declare module '@xmpp/client' {
  import type { EventEmitter } from 'node:events';
  import type { ConnectionOptions } from 'node:tls';

  /** An XML element (ltx). */
  export interface Element {
    name: string;
    attrs: Record<string, string | undefined>;
    is(name: string, ns?: string): boolean;
    getChild(name: string, ns?: string): Element | undefined;
    getChildren(name: string, ns?: string): Element[];
    getChildText(name: string, ns?: string): string | null;
  }
  /** A SASL mechanism class in the shape the `saslmechanisms` factory instantiates. */
  export type MechanismClass = new () => {
    name: string;
    clientFirst: boolean;
    response(cred: { username: string; password: string }): string | Promise<string>;
    challenge(chal: string): unknown;
  };
  export interface XmppClient extends EventEmitter {
    jid: { toString(): string } | null;
    start(): Promise<unknown>;
    stop(): Promise<unknown>;
    send(el: Element): Promise<void>;
    socketParameters: (service: string) => ConnectionOptions | undefined;
    reconnect: { stop(): void };
    parser: unknown;
    timeout: number;
    _onData(data: Buffer): void;
    saslFactory: { _mechs: { name: string; mech: MechanismClass }[] };
    streamManagement: EventEmitter & { enabled: boolean; requestAckInterval: number; requestAckDebounce: number };
  }
  export function client(options: {
    service: string;
    domain: string;
    resource?: string;
    username?: string;
    password?: string;
  }): XmppClient;
  export function xml(name: string, attrs?: Record<string, string>, ...children: (Element | string)[]): Element;
}

declare module '@xmpp/tls/lib/Socket.js' {
  import type { EventEmitter } from 'node:events';
  import type { TLSSocket } from 'node:tls';
  export default class Socket extends EventEmitter {
    socket: TLSSocket | null;
    timeout: ReturnType<typeof setTimeout> | null;
    connect(...args: unknown[]): void;
  }
}

declare module '@xmpp/tls/lib/Connection.js' {
  const ConnectionTLS: { prototype: { Socket: unknown } };
  export default ConnectionTLS;
}
