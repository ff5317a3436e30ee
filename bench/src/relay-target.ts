import WebSocket from 'ws';
import { startRelay } from './spawn.js';
import type { BenchClient, Target } from './target.js';

let ids = 0;

/** The bare relay as a benchmark target (the floor). Users are just room memberships. */
export async function relayTarget(dataDir: string, ca: string): Promise<Target> {
  const relay = await startRelay(dataDir);
  const roomsOf = new Map<number, string[]>();
  return {
    name: 'ws-relay',
    pid: relay.child.pid as number,
    metrics: { url: () => `https://127.0.0.1:${relay.port}/metrics`, ca },
    conversation(n) {
      const room = `room${ids++}`;
      for (let u = 0; u < n; u++) roomsOf.set(u, [...(roomsOf.get(u) ?? []), room]);
      return Promise.resolve(room);
    },
    connect(user) {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(`wss://127.0.0.1:${relay.port}/`, { ca, perMessageDeflate: false });
        const pending = new Map<string, () => void>();
        const bc: BenchClient = {
          onMessage: undefined,
          send: (conversationId, payload) =>
            new Promise<void>((res) => {
              const ref = String(ids++);
              pending.set(ref, res);
              ws.send(
                JSON.stringify({
                  type: 'send',
                  ref,
                  conversationId,
                  clientMsgId: ref,
                  payload: Buffer.from(payload).toString('base64'),
                }),
              );
            }),
          close: () => ws.close(),
        };
        ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', rooms: roomsOf.get(user) ?? [] })));
        ws.on('message', (d) => {
          const f = JSON.parse((d as Buffer).toString()) as {
            type: string;
            ref?: string;
            conversationId?: string;
            payload?: string;
          };
          if (f.type === 'ready') resolve(bc);
          else if (f.type === 'sent') {
            pending.get(f.ref as string)?.();
            pending.delete(f.ref as string);
          } else if (f.type === 'msg')
            bc.onMessage?.(f.conversationId as string, Buffer.from(f.payload as string, 'base64'));
        });
        ws.on('error', reject);
      });
    },
    stop: () => relay.stop(),
  };
}
