import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AppError, currentDrill, FakeClock, silentLogger } from '../core/index.js';
import { FakeSocket } from '../test-support/fake-socket.js';
import type { AuthDeps } from '../auth/index.js';
import { DrillRegistry } from '../server/drills.js';
import { Connection } from './connection.js';
import type { RealtimeDeps } from './deps.js';
import { Gateway } from './gateway.js';
import type { Hub } from './hub.js';

const clock = new FakeClock();
const drills = new DrillRegistry(clock);
const live = drills.create({ scenario: 'stolen-token', ttlMs: 600_000 });

/** A gateway whose limiter records the address each upgrade is counted against, then refuses it (429). */
function recordingGateway() {
  const seen: string[] = [];
  const limiter = {
    check: (_name: string, key: string) => {
      seen.push(key);
      throw new AppError('rate_limited', 'stop here', { retryAfterMs: 1000 });
    },
  };
  const bus = { subscribe: () => () => undefined };
  const deps = {
    auth: { limiter, clock, bus } as unknown as AuthDeps,
    messaging: { bus } as unknown as RealtimeDeps['messaging'],
    log: silentLogger,
    allowedOrigins: [],
    drills,
    sweepEveryMs: 3_600_000,
    timers: clock,
  } satisfies RealtimeDeps;
  return { gateway: new Gateway(deps), seen };
}

function upgrade(g: Gateway, headers: Record<string, string>): string {
  let written = '';
  const req = { url: '/v1/ws', headers, socket: { remoteAddress: '127.0.0.1' } } as unknown as IncomingMessage;
  const socket = { end: (s: string) => (written += s) } as unknown as Duplex;
  g.handleUpgrade(req, socket, Buffer.alloc(0));
  return written.split('\r\n')[0] ?? '';
}

describe('drill marking at the WebSocket upgrade', () => {
  it('a live token with a TEST-NET source: the upgrade is counted against that address', () => {
    const { gateway, seen } = recordingGateway();
    expect(upgrade(gateway, { 'x-palisade-drill': live.token, 'x-palisade-drill-source': '203.0.113.7' })).toMatch(
      / 429 /,
    );
    expect(seen).toEqual(['203.0.113.7']);
    gateway.hub.close();
  });

  it('a live token with a source outside TEST-NET is refused with 400 before any limit', () => {
    const { gateway, seen } = recordingGateway();
    for (const ip of ['10.1.2.3', '127.0.0.1', '2001:db8::1'])
      expect(upgrade(gateway, { 'x-palisade-drill': live.token, 'x-palisade-drill-source': ip })).toMatch(/ 400 /);
    expect(seen).toEqual([]);
    gateway.hub.close();
  });

  it('a forged or absent token: the source header is ignored, the real address counts', () => {
    const { gateway, seen } = recordingGateway();
    upgrade(gateway, { 'x-palisade-drill': 'forged', 'x-palisade-drill-source': '203.0.113.7' });
    upgrade(gateway, { 'x-palisade-drill-source': '10.0.0.1' });
    expect(seen).toEqual(['127.0.0.1', '127.0.0.1']);
    gateway.hub.close();
  });
});

describe('drill context inside a connection', () => {
  /** Deps whose `auth` records the drill context of every use (authenticateToken reads it across awaits). */
  function recordingDeps() {
    const contexts: (string | null)[] = [];
    const auth = new Proxy({} as AuthDeps, {
      get(_t, prop) {
        contexts.push(currentDrill() ?? null);
        if (prop === 'clock') return clock;
        if (prop === 'db') throw new AppError('session_invalid');
        return undefined;
      },
    });
    const deps = {
      auth,
      messaging: {} as RealtimeDeps['messaging'],
      log: silentLogger,
      allowedOrigins: [],
      timers: clock,
    } satisfies RealtimeDeps;
    return { deps, contexts };
  }
  const hub = {} as Hub;
  const authFrame = JSON.stringify({ type: 'auth', token: 'not-a-session', signature: 'AAAA' });

  it('frames of a drill connection are handled in the drill context', async () => {
    const { deps, contexts } = recordingDeps();
    const ws = new FakeSocket();
    new Connection(ws.ws, deps, hub, '203.0.113.7', () => undefined, live.id);
    ws.emit('message', Buffer.from(authFrame), false);
    await new Promise((r) => setImmediate(r));
    expect(contexts.length).toBeGreaterThan(0);
    expect(new Set(contexts)).toEqual(new Set([live.id]));
  });

  it('frames of an ordinary connection carry no drill', async () => {
    const { deps, contexts } = recordingDeps();
    const ws = new FakeSocket();
    new Connection(ws.ws, deps, hub, '127.0.0.1');
    ws.emit('message', Buffer.from(authFrame), false);
    await new Promise((r) => setImmediate(r));
    expect(contexts.length).toBeGreaterThan(0);
    expect(new Set(contexts)).toEqual(new Set([null]));
  });
});
