import { describe, expect, it } from 'vitest';
import { ClientFrame } from '@palisade/protocol';
import { MEMBER_PERMISSIONS } from '../rbac/index.js';
import { FRAME_ACCESS } from './index.js';

describe('v5.0.0-8.1.1 every WebSocket operation names its access rule', () => {
  it('covers exactly the frame types of the protocol', () => {
    const types = ClientFrame.options.map((o) => o.shape.type.value).sort();
    expect(Object.keys(FRAME_ACCESS).sort()).toEqual(types);
  });

  it('needs a conversation permission for every conversation operation', () => {
    const convPerms = new Set<string>(Object.values(MEMBER_PERMISSIONS).flat());
    for (const t of ['send', 'ack', 'read', 'typing'] as const) expect(convPerms.has(FRAME_ACCESS[t])).toBe(true);
    expect(FRAME_ACCESS.auth).toBe('public');
  });
});
