import { client, xml, type Element } from '@xmpp/client';
import Socket from '@xmpp/tls/lib/Socket.js';
import ConnectionTLS from '@xmpp/tls/lib/Connection.js';
import { startEjabberd, type Install } from './ejabberd-server.js';
import type { BenchClient, Target } from './target.js';
import { registerXmpp } from './xmpp-register.js';
import { scramMechanism } from './xmpp-scram.js';

const DOMAIN = 'localhost';
const MUC = 'conference.localhost';
const SM = 'urn:xmpp:sm:3';
const PASS = 'benchmark passphrase that is long enough';
// SCRAM through node's native PBKDF2, SHA-256 first (the server stores SCRAM-SHA-256 keys).
const MECHS = [
  { name: 'SCRAM-SHA-256', mech: scramMechanism('sha256') },
  { name: 'SCRAM-SHA-1', mech: scramMechanism('sha1') },
];

// @xmpp/tls waits 1 ms after a TLS 1.3 handshake before the stream header (an Openfire workaround):
// bench only, start at once, and with TCP_NODELAY as the other targets' sockets.
class PromptSocket extends Socket {
  override connect(...args: unknown[]): void {
    super.connect(...args);
    const s = this.socket;
    s?.setNoDelay(true);
    // A reset after the library detached its listeners must not be an uncaught 'error' event.
    s?.on('error', () => undefined);
    s?.once('secureConnect', () => {
      if (this.timeout !== null) clearTimeout(this.timeout);
      this.emit('connect');
    });
  }
}
ConnectionTLS.prototype.Socket = PromptSocket;

let seq = 0;

/**
 * ejabberd as a benchmark target, over XMPP with @xmpp/client: `connect` is a full login (direct TLS
 * 1.3, SASL SCRAM-SHA-256, resource binding, XEP-0198 enable; then, unless another open connection
 * of the user already did, initial presence echoed back and a MUC join for each of its group rooms). A 1:1 conversation is a
 * pair of JIDs (chat messages); a group is a MUC room. `send` resolves on the server's XEP-0198
 * `<a h='N'/>` counting the message as handled: with mod_mam, after ejabberd committed both archive
 * rows to SQLite (sender's and receiver's, in the sender's session) and routed it; without MAM, after
 * routing only. Palisade's ack means COMMIT + fsync of its own store.
 */
export async function ejabberdTarget(
  install: Extract<Install, { ok: true }>,
  dir: string,
  opts: { mam: boolean; name: string },
): Promise<Target> {
  const server = await startEjabberd(install, dir, opts);
  const registered = new Set<number>();
  const roomsOf = new Map<number, string[]>();
  // Open connections of each user that are available (`user/`) or joined a room (`user/room`).
  const occupied = new Map<string, number>();
  let rooms = 0;
  const ensureUsers = async (n: number) => {
    const todo = Array.from({ length: n }, (_, u) => u).filter((u) => !registered.has(u));
    let next = 0;
    const lane = async () => {
      while (next < todo.length) {
        const u = todo[next++] as number;
        await registerXmpp({ port: server.port, ca: server.ca, domain: DOMAIN }, `u${u}`, PASS);
        registered.add(u);
      }
    };
    await Promise.all(Array.from({ length: 8 }, lane));
  };

  // Extra accounts for connections of a user while another of its connections is open (see below).
  let extras = 0;
  async function connect(user: number): Promise<BenchClient> {
    const res = `r${seq++}`;
    // XMPP servers are not built for thousands of sessions of one account: ejabberd's bind and its
    // per-session memory grow with the account's session count (1.9 MB per idle session at 4,000 of
    // one account against 0.5 MB at 1,000; binds past ~6,000 took over 30 s). So while a user already has an open connection, a further
    // one logs in as an account of its own (`u0x17`, registered here when first used), which only the
    // memory phase does: its idle connections then cost what idle XMPP users cost.
    const extra = (occupied.get(`${user}/`) ?? 0) > 0;
    const account = extra ? `u${user}x${extras++}` : `u${user}`;
    if (extra) await registerXmpp({ port: server.port, ca: server.ca, domain: DOMAIN }, account, PASS);
    const x = client({
      service: `xmpps://127.0.0.1:${server.port}`,
      domain: DOMAIN,
      resource: res,
      username: account,
      password: PASS,
    });
    x.reconnect.stop();
    x.timeout = 30_000; // the library's 2 s for each step of the login is too short on a loaded 2-core machine
    // @xmpp/connection throws (uncaught, in a socket handler) on data that arrives after the server
    // closed the stream, which happens when many connections close at once: drop such data.
    const onData = x._onData.bind(x);
    x._onData = (d) => {
      if (x.parser !== null) onData(d);
    };
    x.saslFactory._mechs = MECHS;
    x.socketParameters = () => ({
      host: '127.0.0.1',
      port: server.port,
      ca: server.ca,
      servername: DOMAIN,
      minVersion: 'TLSv1.3',
    });
    x.streamManagement.requestAckInterval = 0; // no periodic <r/> on idle connections
    const pending = new Map<Element, { ok: () => void; fail: (e: Error) => void }>();
    const waiters = new Set<{ test: (el: Element) => boolean; done: () => void }>();
    const waitFor = (test: (el: Element) => boolean) => new Promise<void>((done) => waiters.add({ test, done }));
    x.streamManagement.on('ack', (el: Element) => {
      pending.get(el)?.ok();
      pending.delete(el);
    });
    x.streamManagement.on('fail', (el: Element) => {
      pending.get(el)?.fail(new Error('stanza not acknowledged: stream closed'));
      pending.delete(el);
    });
    x.on('error', () => undefined); // a failed login rejects start(); later errors close the stream
    const bc: BenchClient = {
      onMessage: undefined,
      send: (conv, payload) => send(conv, payload),
      close: () => {
        for (const r of joined) occupied.set(r, (occupied.get(r) ?? 1) - 1);
        x.stop().catch(() => undefined);
      },
    };
    x.on('stanza', (el: Element) => {
      for (const w of waiters)
        if (w.test(el)) {
          waiters.delete(w);
          w.done();
        }
      if (el.name !== 'message') return;
      const body = el.getChildText('body');
      const from = el.attrs.from ?? '';
      if (body === null || bc.onMessage === undefined) return;
      if (el.attrs.type === 'groupchat') bc.onMessage(`muc:${from.slice(0, from.indexOf('@'))}`, Buffer.from(body));
      else {
        const k = Number(/^u(\d+)@/.exec(from)?.[1]);
        bc.onMessage(`chat:${Math.min(k, user)}:${Math.max(k, user)}`, Buffer.from(body));
      }
    });
    // One <r/> after each burst of messages written in the same turn of the event loop.
    let rQueued = false;
    const requestAck = () => {
      if (rQueued) return;
      rQueued = true;
      setImmediate(() => {
        rQueued = false;
        x.send(xml('r', { xmlns: SM })).catch(() => undefined);
      });
    };
    function send(conv: string, payload: Uint8Array): Promise<void> {
      let to: string;
      let type: string;
      if (conv.startsWith('muc:')) [to, type] = [`${conv.slice(4)}@${MUC}`, 'groupchat'];
      else {
        const [a, b] = conv.slice(5).split(':').map(Number) as [number, number];
        [to, type] = [`u${user === a ? b : a}@${DOMAIN}`, 'chat'];
      }
      const el = xml('message', { to, type, id: `m${seq++}` }, xml('body', {}, Buffer.from(payload).toString()));
      return new Promise<void>((ok, fail) => {
        pending.set(el, { ok, fail });
        x.send(el).then(requestAck, fail);
      });
    }
    // @xmpp/client goes online at resource binding, before the server answered the XEP-0198 <enable/>.
    const smAnswer = new Promise<boolean>((ok) => {
      const f = (el: Element) => {
        if (!el.is('enabled', SM) && !el.is('failed', SM)) return;
        x.removeListener('element', f);
        ok(el.is('enabled', SM));
      };
      x.on('element', f);
    });
    await x.start();
    if (!(await smAnswer)) throw new Error('XEP-0198 stream management refused');
    const joined: string[] = [];
    // Available (initial presence, echoed back) from one connection per user at a time: RFC 6121 has
    // every available resource of a user receive every other's presence, which for the memory phase's
    // thousands of connections of user 0 would grow as their square. The others stay logged in.
    if ((occupied.get(`${user}/`) ?? 0) === 0) {
      occupied.set(`${user}/`, 1);
      joined.push(`${user}/`);
      const me = x.jid?.toString() ?? '';
      const online = waitFor((el) => el.name === 'presence' && el.attrs.from === me);
      await x.send(xml('presence'));
      await online;
    }
    for (const room of roomsOf.get(user) ?? []) {
      const key = `${user}/${room}`;
      if ((occupied.get(key) ?? 0) > 0) continue; // the user is in the room through another connection
      occupied.set(key, 1);
      joined.push(key);
      const nick = `${room}@${MUC}/u${user}.${res}`;
      const self = waitFor((el) => el.name === 'presence' && el.attrs.from === nick && el.attrs.type !== 'error');
      const refused = waitFor((el) => el.name === 'presence' && el.attrs.from === nick && el.attrs.type === 'error');
      await x.send(
        xml(
          'presence',
          { to: nick },
          xml('x', { xmlns: 'http://jabber.org/protocol/muc' }, xml('history', { maxstanzas: '0' })),
        ),
      );
      const ok = await Promise.race([self.then(() => true), refused.then(() => false)]);
      if (!ok) throw new Error(`could not join ${room}`);
    }
    return bc;
  }

  return {
    name: opts.name,
    pid: server.child.pid as number,
    connect,
    async conversation(n) {
      await ensureUsers(n);
      if (n === 2) return 'chat:0:1';
      const room = `bench${rooms++}`;
      for (let u = 0; u < n; u++) roomsOf.set(u, [...(roomsOf.get(u) ?? []), room]);
      return `muc:${room}`;
    },
    stop: () => server.stop(),
  };
}
