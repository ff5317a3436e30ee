import { createInterface } from 'node:readline';
import type { ConversationView } from '@palisade/protocol';
import type { PalisadeClient } from '../client.js';
import { fromBase64, fromUtf8, utf8 } from '../bytes.js';

/** Chat payloads are JSON `{ "text": ... }` as UTF-8 (end-to-end encryption will wrap this later). */
export function encodeText(text: string): Uint8Array {
  return utf8(JSON.stringify({ text }));
}

/** The text of a payload, or a description of what it is. */
export function decodeText(payload: Uint8Array): string {
  try {
    const v = JSON.parse(fromUtf8(payload)) as { text?: unknown };
    if (typeof v.text === 'string') return v.text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '\uFFFD');
  } catch {
    /* not a text message */
  }
  return `<${payload.byteLength} bytes>`;
}

const time = (iso: string) => iso.slice(11, 16);

/** Shows recent history, then live messages; each line typed is sent. `/quit` leaves. */
export async function liveView(client: PalisadeClient, conv: ConversationView, me: string): Promise<void> {
  const names = new Map(conv.members.map((m) => [m.userId, m.username]));
  const title = conv.kind === 'direct' ? conv.members.find((m) => m.userId !== me)?.username ?? 'direct' : conv.name ?? 'group';
  const out = (line: string) => process.stdout.write(`\r\x1b[K${line}\n`);
  const after = Math.max(0, conv.lastSeq - 20);
  const history = await client.api.history(conv.id, after, 20);
  out(`— ${title} (${conv.members.length} members) — type to send, /quit to leave`);
  for (const m of history) out(`[${time(m.sentAt)}] ${names.get(m.senderId) ?? '?'}: ${decodeText(fromBase64(m.payload))}`);
  client.realtime.delivered.set(conv.id, history.at(-1)?.seq ?? after);

  client.on.message = (m) => {
    if (m.conversationId !== conv.id) return;
    out(`[${time(m.sentAt)}] ${names.get(m.senderId) ?? '?'}: ${decodeText(m.payload)}`);
    client.markRead(conv.id, m.seq);
    view.rl?.prompt(true);
  };
  client.on.typing = (t) => {
    if (t.conversationId === conv.id) out(`  ${names.get(t.userId) ?? 'someone'} is typing…`);
    view.rl?.prompt(true);
  };
  client.on.state = (s) => {
    if (s === 'disconnected') out('  (connection lost; reconnecting…)');
    if (s === 'unauthenticated') out('  (session ended; run `palisade-chat login`)');
  };
  const view: { rl?: ReturnType<typeof createInterface> } = {};
  await client.connect();
  // Read input only once connected, so lines piped in are not lost while connecting.
  const rl = (view.rl = createInterface({ input: process.stdin, output: process.stdout, prompt: '> ' }));
  rl.prompt();
  let lastTyping = 0;
  process.stdin.on('keypress', () => {
    if (Date.now() - lastTyping > 3000) {
      lastTyping = Date.now();
      client.typing(conv.id);
    }
  });
  const input = rl;
  let chain = Promise.resolve();
  await new Promise<void>((resolve) => {
    input.on('line', (line) => {
      chain = chain.then(async () => {
        const text = line.trim();
        if (text === '/quit') return void input.close();
        if (text) await client.send(conv.id, encodeText(text)).catch((e: Error) => out(`  (not sent: ${e.message})`));
        input.prompt();
      });
    });
    input.on('close', () => void chain.then(resolve));
  });
  client.close();
}
