import type { ServerFrame } from '@palisade/protocol';
import type { Principal } from '../core/index.js';
import type { MessageFrames } from './message-frames.js';

/** What the hub needs of a connection (kept apart so hub and connection do not import each other). */
export interface Peer {
  readonly principal: Principal | undefined;
  readonly cursors: Map<string, number>;
  deliver(conversationId: string, seq: number, message?: MessageFrames): void;
  joined(conversationId: string): void;
  left(conversationId: string): void;
  push(frame: ServerFrame | string): void;
  close(code: number, reason: string): void;
  /** The periodic re-check found the session still valid, ending at `expiresAt` (it may have moved). */
  sessionHolds(expiresAt: number): void;
  /** Periodic flow-control check: closes the socket (4008) when it has stalled. */
  sweep(now: number): void;
}
