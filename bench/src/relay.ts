import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { WebSocketServer, type WebSocket } from 'ws';
import { relayEventLoopDelay } from './relay-eld.js';

/**
 * The floor: a bare WebSocket-over-TLS relay written for the benchmark. Palisade's JSON framing
 * (base64 payloads, one serialisation per fan-out), but no authentication, no storage, no ordering
 * guarantees. The Palisade bench client uses binary payload frames; the relay stays on JSON on purpose:
 * it never decodes the base64 (it forwards the string), so at the bench's 100-byte bodies the framing
 * costs it a JSON.parse of about 200 bytes per send, and the floor stays the same figure across runs.
 * Run as `node bench/dist/relay.js <cert.pem> <key.pem>`; prints `relay listening <port>`.
 */
const [certFile, keyFile] = process.argv.slice(2) as [string, string];
const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.3' });
// GET /metrics: its event-loop delay as Palisade exposes it (relay-eld.ts), so the bench reads both alike.
const eld = relayEventLoopDelay();
server.on('request', (req, res) => {
  if (req.method === 'GET' && req.url === '/metrics') res.writeHead(200, { 'content-type': 'text/plain' }).end(eld());
  else res.writeHead(404).end();
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });
const rooms = new Map<string, Set<WebSocket>>();
const seqs = new Map<string, number>();

wss.on('connection', (ws) => {
  const mine: string[] = [];
  ws.on('message', (data) => {
    const f = JSON.parse((data as Buffer).toString()) as {
      type: string;
      rooms?: string[];
      ref?: string;
      conversationId?: string;
      clientMsgId?: string;
      payload?: string;
    };
    if (f.type === 'hello') {
      for (const r of f.rooms ?? []) {
        if (!rooms.has(r)) rooms.set(r, new Set());
        rooms.get(r)!.add(ws);
        mine.push(r);
      }
      ws.send(JSON.stringify({ type: 'ready' }));
    } else if (f.type === 'send' && f.conversationId) {
      const seq = (seqs.get(f.conversationId) ?? 0) + 1;
      seqs.set(f.conversationId, seq);
      const msg = JSON.stringify({
        type: 'msg',
        conversationId: f.conversationId,
        seq,
        clientMsgId: f.clientMsgId,
        payload: f.payload,
        sentAt: new Date().toISOString(),
      });
      for (const peer of rooms.get(f.conversationId) ?? []) peer.send(msg);
      ws.send(
        JSON.stringify({ type: 'sent', ref: f.ref, conversationId: f.conversationId, clientMsgId: f.clientMsgId, seq }),
      );
    }
  });
  ws.on('close', () => {
    for (const r of mine) rooms.get(r)?.delete(ws);
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`relay listening ${(server.address() as { port: number }).port}\n`);
});
