import { describe, expect, it } from 'vitest';
import type { ConnectionState } from '../realtime.js';
import { announcesTyping, decodeText, encodeText, outageNotices, stamp } from './live-view.js';

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

  it('round-trips text and neutralises control characters', () => {
    expect(decodeText(encodeText('hi ✓'))).toBe('hi ✓');
    expect(decodeText(encodeText('a\u001b[2Jb'))).toBe('a\uFFFD[2Jb');
    expect(decodeText(new Uint8Array([1, 2, 3]))).toBe('<3 bytes>');
  });
});
