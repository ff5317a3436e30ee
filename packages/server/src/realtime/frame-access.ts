import type { ClientFrameType } from '@palisade/protocol';
import type { Permission } from '../rbac/index.js';

/**
 * The access rule of every WebSocket operation, as data (default deny: a frame type missing here
 * fails the test that enumerates the protocol). Conversation permissions are checked again on the
 * object by the domain use case the frame calls.
 */
export const FRAME_ACCESS: Record<ClientFrameType, 'public' | 'authenticated' | Permission> = {
  auth: 'public',
  ping: 'authenticated',
  send: 'message.send',
  ack: 'conversation.read',
  read: 'conversation.read',
  typing: 'conversation.read',
};
