import { createInterface } from 'node:readline';
import type { ConversationView } from '@palisade/protocol';
import type { PalisadeClient } from '../client.js';
import type { ConnectionState } from '../realtime.js';
import { PalisadeError } from '../errors.js';
import type { E2eeMessage } from '../e2ee/context.js';
import type { SecureMessaging } from '../e2ee/secure-messaging.js';
import { noticeText } from './notice-text.js';
import { describeError } from './error-text.js';
import { invocationName } from './invocation.js';

/**
 * Whether a keypress should tell the others "typing": at most every 3 s, and never while the line is
 * a `/command` (those are not messages; `//text` starts a message but is rare enough to skip).
 */
export function announcesTyping(line: string, now: number, last: number): boolean {
  return !line.startsWith('/') && now - last > 3000;
}

const two = (n: number) => String(n).padStart(2, '0');

/** `HH:MM` in local time for a message sent today, `YYYY-MM-DD HH:MM` for an older one. */
export function stamp(iso: string, now = new Date()): string {
  const d = new Date(iso);
  const hm = `${two(d.getHours())}:${two(d.getMinutes())}`;
  return d.toDateString() === now.toDateString()
    ? hm
    : `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${hm}`;
}

/** The commands of the live view; anything else starting with `/` is refused, not sent. */
export const COMMANDS: Record<string, string> = {
  '/help': 'list these commands',
  '/who': 'list the members and whether you verified them (see verify)',
  '/quit': 'leave (waits briefly for the server to confirm what you sent)',
};

/** How long `/quit` waits, without progress, for the server to confirm pending messages. */
const QUIT_GRACE_MS = 5000;

/** A state handler that says `connection lost` once per outage (not per retry) and `reconnected` at its end. */
export function outageNotices(out: (line: string) => void): (s: ConnectionState) => void {
  let outage = false;
  return (s) => {
    if (s === 'disconnected' && !outage) {
      outage = true;
      out('  (connection lost; reconnecting…)');
    } else if (s === 'synced' && outage) {
      outage = false;
      out('  (reconnected)');
    }
  };
}

/** Resolves after `ms` (never holds the process open). */
function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/** One line for the end of the session on the socket (revoked, expired, account disabled). */
function sessionEnded(reason: string | undefined): string {
  if (reason === 'account disabled')
    return '(your account was disabled by an administrator; ask an admin to enable it again)';
  return `(session ended${reason ? `: ${reason}` : ''}; run \`${invocationName()} login\`)`;
}

/** How a kept message is shown: time, sender, text; marked when sent before end-to-end encryption. */
export function messageLine(m: E2eeMessage, name: (userId: string) => string): string {
  const mark = m.protection === 'legacy' ? ' (sent before end-to-end encryption)' : '';
  return `[${stamp(m.sentAt)}] ${name(m.senderId)}: ${clean(m.text)}${mark}`;
}

const clean = (t: string) => t.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '\uFFFD');

/**
 * Shows recent history, then live messages; each line typed is encrypted and sent, `/help` lists the
 * commands. Resolves with the exit code: 0 after `/quit` or the end of input, 1 when the session ended.
 */
export async function liveView(
  client: PalisadeClient,
  secure: SecureMessaging,
  conv: ConversationView,
  me: string,
  whoIs: (userId: string) => Promise<string> = () => Promise.resolve(''),
): Promise<number> {
  const names = new Map(conv.members.map((m) => [m.userId, m.username]));
  const name = (id: string) => names.get(id) ?? '?';
  const title =
    conv.kind === 'direct' ? (conv.members.find((m) => m.userId !== me)?.username ?? 'direct') : (conv.name ?? 'group');
  const out = (line: string) => process.stdout.write(`\r\x1b[K${line}\n`);
  let prompt: () => void = () => undefined;
  secure.on.notice = (n) => {
    if ('conversationId' in n && n.conversationId !== conv.id) return;
    const line = noticeText(n, name);
    if (line) out(`  ${line}`);
    prompt();
  };
  await secure.sync(conv.id);
  const shown = new Set<number>();
  out(
    `— ${title} (${conv.members.length} members, end-to-end encrypted) — type to send, /help for commands, /quit to leave`,
  );
  for (const m of await secure.kept(conv.id, 20)) {
    shown.add(m.seq);
    out(messageLine({ ...m, conversationId: conv.id }, name));
  }
  secure.on.message = (m) => {
    if (m.conversationId !== conv.id || shown.has(m.seq)) return;
    shown.add(m.seq);
    out(messageLine(m, name));
    client.markRead(conv.id, m.seq);
    prompt();
  };

  const view: {
    rl?: ReturnType<typeof createInterface>;
    code: number;
    offline?: () => void;
    attempted?: () => void;
    closing?: boolean;
    quit?: boolean;
  } = { code: 0 };
  prompt = () => view.rl?.prompt(true);
  client.on.typing = (t) => {
    if (t.conversationId === conv.id) out(`  ${names.get(t.userId) ?? 'someone'} is typing…`);
    prompt();
  };
  client.on.error = (e) => {
    out(`  (server: ${describeError(e)})`);
    prompt();
  };
  const outages = outageNotices(out);
  client.on.state = (s, detail) => {
    if (s !== 'ready' && s !== 'synced') view.offline?.();
    if (s === 'disconnected' || s === 'unauthenticated') view.attempted?.();
    outages(s);
    if (s === 'unauthenticated') {
      out(`  ${sessionEnded(detail)}`);
      view.code = 1;
      view.rl?.close();
    }
  };
  // Input is read from the start, so /quit works even while connecting; messages typed before the
  // connection is up wait in the SDK and go out once it is (nothing piped in is lost).
  const rl = (view.rl = createInterface({ input: process.stdin, output: process.stdout, prompt: '> ' }));
  const firstAttempt = new Promise<void>((resolve) => {
    view.attempted = resolve;
    void client.connect().then(resolve, resolve); // a refusal is reported by the state handler
  });
  const tty = process.stdin.isTTY === true && process.stdout.isTTY === true;
  rl.prompt();
  let lastTyping = 0;
  process.stdin.on('keypress', () => {
    // readline handled the key first (its listener is older), so rl.line includes it.
    if (announcesTyping(rl.line, Date.now(), lastTyping)) {
      lastTyping = Date.now();
      client.typing(conv.id);
    }
  });

  // Sends go out at once, in order (the server keeps a sender's order); each answer is reported on its own.
  const inflight = new Map<Promise<void>, string>();
  const notConfirmed = (text: string) =>
    out(
      `  message not confirmed: you left before the server answered; it may not have arrived: ${text.length > 60 ? `${text.slice(0, 60)}…` : text}`,
    );
  const send = (text: string) => {
    const p: Promise<void> = secure
      .sendText(conv.id, text)
      .then(
        () => undefined,
        (e: Error) => {
          if (view.closing) notConfirmed(text);
          else out(`  message not sent: ${e instanceof PalisadeError ? describeError(e) : e.message}`);
        },
      )
      .finally(() => inflight.delete(p));
    inflight.set(p, text);
  };
  const connected = () => client.realtime.state === 'ready' || client.realtime.state === 'synced';
  /** Waits for the server's answers while connected; stops at once when offline, or after a while without progress. */
  const drain = async () => {
    while (inflight.size > 0 && connected()) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const progressed = await Promise.race([
        Promise.race(inflight.keys()).then(() => true),
        new Promise<boolean>((r) => (view.offline = () => r(false))),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), QUIT_GRACE_MS))),
      ]);
      clearTimeout(timer);
      if (!progressed) break;
    }
  };

  const onLine = (line: string) => {
    const text = line.trim();
    if (tty) process.stdout.write('\x1b[1A\r\x1b[K'); // the message line replaces the echoed input
    if (text.startsWith('/') && !text.startsWith('//')) {
      const command = text.split(/\s/, 1)[0] as string;
      if (command === '/quit') {
        view.quit = true;
        return void rl.close();
      }
      if (command === '/help') for (const [c, what] of Object.entries(COMMANDS)) out(`  ${c.padEnd(6)} ${what}`);
      else if (command === '/who')
        void Promise.all(
          conv.members.map(async (m) => {
            const state = await whoIs(m.userId);
            return `${m.username}${m.role === 'member' ? '' : ` (${m.role})`}${state ? ` [${state}]` : ''}`;
          }),
        ).then((lines) => {
          out(`  ${lines.join(', ')}`);
          prompt();
        });
      else out(`  unknown command ${command}; /help lists them (start a message with // to send a leading /)`);
    } else if (text) send(text.startsWith('//') ? text.slice(1) : text);
    rl.prompt();
  };
  await new Promise<void>((resolve) => {
    rl.on('line', onLine);
    rl.on('close', () => {
      rl.off('line', onLine);
      // Messages typed before the connection was up go out once it is: let the first attempt finish
      // (for /quit only briefly, so it always works), then wait for the server's answers.
      const first =
        inflight.size === 0
          ? Promise.resolve()
          : view.quit
            ? Promise.race([firstAttempt, delay(QUIT_GRACE_MS)])
            : firstAttempt;
      void first.then(drain).then(resolve);
    });
  });
  view.closing = true;
  client.close();
  // A send may still wait on the end-to-end layer (a group check over HTTP to a server that does not
  // answer): leave after a grace period all the same, saying which messages were not confirmed.
  await Promise.race([Promise.all(inflight.keys()), delay(1000)]);
  for (const text of inflight.values()) notConfirmed(text);
  inflight.clear();
  await client.closed(); // the server sees a clean 1000, not 1006, when the process exits next
  return view.code;
}
