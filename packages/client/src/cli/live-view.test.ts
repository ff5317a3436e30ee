import { describe, expect, it } from 'vitest';
import type { ConnectionState } from '../realtime.js';
import { announcesTyping, messageLine, outageNotices, stamp } from './live-view.js';

describe('the live view', () => {
  it('announces typing at most every 3 s, and never while a /command is typed', () => {
    expect(announcesTyping('h', 10_000, 0)).toBe(true);
    expect(announcesTyping('he', 10_000, 8_000)).toBe(false);
    expect(announcesTyping('/qu', 10_000, 0)).toBe(false);
    expect(announcesTyping('/', 10_000, 0)).toBe(false);
  });

  it('shows local HH:MM for today and the date before it for older messages', () => {
    const now = new Date(2026, 11, 1, 15, 0);
    expect(stamp(new Date(2026, 11, 1, 9, 5).toISOString(), now)).toBe('09:05');
    expect(stamp(new Date(2026, 10, 30, 23, 59).toISOString(), now)).toBe('2026-11-30 23:59');
  });

  it('says "connection lost" once per outage, however many retries, and "reconnected" at its end', () => {
    const lines: string[] = [];
    const notice = outageNotices((l) => lines.push(l.trim()));
    const states: ConnectionState[] = [
      'connecting',
      'ready',
      'synced',
      'disconnected',
      'connecting',
      'disconnected',
      'connecting',
      'disconnected',
      'connecting',
      'ready',
      'synced',
      'disconnected',
    ];
    for (const s of states) notice(s);
    expect(lines).toEqual(['(connection lost; reconnecting…)', '(reconnected)', '(connection lost; reconnecting…)']);
  });

  it('shows a message with its sender, neutralises control characters and marks pre-encryption messages', () => {
    const base = {
      conversationId: 'c',
      seq: 1,
      senderId: 'u1',
      senderDeviceId: 'd1',
      sentAt: new Date().toISOString(),
    };
    const name = (id: string) => (id === 'u1' ? 'alice' : '?');
    expect(messageLine({ ...base, text: 'hi ✓', protection: 'e2ee' }, name)).toMatch(/\] alice: hi ✓$/);
    expect(messageLine({ ...base, text: 'a\u001b[2Jb', protection: 'e2ee' }, name)).toMatch(/: a\uFFFD\[2Jb$/);
    expect(messageLine({ ...base, text: 'old', protection: 'legacy' }, name)).toMatch(
      /: old \(sent before end-to-end encryption\)$/,
    );
  });
});
