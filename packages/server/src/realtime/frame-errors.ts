import type { ErrorKind, ServerFrame } from '@palisade/protocol';
import { isAppError, type Logger } from '../core/index.js';
import { randomId } from '../crypto/index.js';

/** WebSocket close codes Palisade uses (4000-4999 are application codes). */
export const CLOSE = {
  goingAway: 1001,
  tooBig: 1009,
  /** The server cannot serve the connection now (store unavailable): reconnect later, the session holds. */
  tryAgainLater: 1013,
  protocolViolation: 4400,
  unauthenticated: 4401,
  authTimeout: 4408,
  /** The device did not read fast enough (send buffer full or stalled): reconnect and resume from the cursor. */
  tooSlow: 4008,
} as const;

/** Kinds of error after which the connection cannot go on. */
const FATAL_KINDS = new Set<ErrorKind>(['unauthenticated']);

/**
 * The one place errors become WebSocket error frames (and, for fatal kinds, a close code).
 * SECURITY: unknown errors are logged with a reference; the client sees only `internal` and the reference.
 */
export function toErrorFrame(e: unknown, ref: string | undefined, log: Logger): { frame: ServerFrame; close?: number } {
  if (isAppError(e)) {
    const frame: ServerFrame = { type: 'error', code: e.code, message: e.message };
    if (ref !== undefined) frame.ref = ref;
    if (e.retryAfterMs !== undefined) frame.retryAfterMs = e.retryAfterMs;
    if (e.details !== undefined) frame.details = e.details;
    return FATAL_KINDS.has(e.kind) ? { frame, close: CLOSE.unauthenticated } : { frame };
  }
  const id = randomId().slice(0, 12);
  log.error({ err: e, ref: id }, 'unhandled error in realtime');
  const frame: ServerFrame = { type: 'error', code: 'internal', message: `internal error, reference ${id}` };
  if (ref !== undefined) frame.ref = ref;
  return { frame };
}

/** HTTP statuses for a refused WebSocket upgrade, by error kind (the handshake is still HTTP). */
const UPGRADE_STATUS: Partial<Record<ErrorKind, { status: number; text: string }>> = {
  rate_limited: { status: 429, text: 'Too Many Requests' },
  unavailable: { status: 503, text: 'Service Unavailable' },
  forbidden: { status: 403, text: 'Forbidden' },
};

/**
 * The status line for an upgrade refused by an error (this file is realtime's one error mapper).
 * SECURITY: unknown errors are logged with a reference; the client sees only a bare 500.
 */
export function toUpgradeRefusal(e: unknown, log: Logger): { status: number; text: string } {
  const known = isAppError(e) ? UPGRADE_STATUS[e.kind] : undefined;
  if (known) return known;
  log.error({ err: e, ref: randomId().slice(0, 12) }, 'upgrade refused by an error');
  return { status: 500, text: 'Internal Server Error' };
}
