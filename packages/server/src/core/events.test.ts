import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENT_KINDS, isReliableEventType } from './index.js';

const architecture = readFileSync(resolve(import.meta.dirname, '../../../../docs/architecture.md'), 'utf8');

describe('the event catalogue (core/events.ts)', () => {
  it('docs/architecture.md classifies every event as the catalogue does, and no other event', () => {
    const rows = [...architecture.matchAll(/^\| `([a-z_.]+)` \| (reliable|ephemeral) \|/gm)];
    expect(Object.fromEntries(rows.map((m) => [m[1], m[2]]))).toEqual(EVENT_KINDS);
  });
  it('only reliable event types are replayed from the outbox', () => {
    expect(Object.keys(EVENT_KINDS).filter(isReliableEventType).sort()).toEqual([
      'conversation.members_changed',
      'message.sent',
      'mls.welcomes_stored',
    ]);
    expect(isReliableEventType('role.changed')).toBe(false);
    expect(isReliableEventType('typing.started')).toBe(false);
    expect(isReliableEventType('toString')).toBe(false);
  });
});
