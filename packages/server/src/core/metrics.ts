/**
 * The metrics port: what domain and transport code may count and time. The composition root passes
 * the Prometheus implementation (metrics/).
 * SECURITY: every label is from a closed, small set (route patterns, error codes, limit names); never
 * a user id, an address, a token or anything a client chooses freely.
 */
export interface Metrics {
  /** One HTTP request answered: its method, route pattern (`/v1/users/:id`, or `unmatched`), status, seconds. */
  httpRequest(method: string, route: string, status: number, seconds: number): void;
  /** An authenticated WebSocket opened (+1) or closed (-1). */
  webSocketOpen(delta: 1 | -1): void;
  /** An authentication attempt and how it ended (`success`, `mfa_required`, or the error code). */
  authentication(method: AuthMethod, outcome: string): void;
  /** A message committed (not counting retries of the same clientMsgId). */
  messageSent(): void;
  /** A message handed to a recipient's socket: `live` (pushed as it was sent) or `catchup` (read from the store). */
  messageDelivered(path: 'live' | 'catchup'): void;
  /** Sends committed together in one group-commit transaction. */
  sendBatch(size: number): void;
  /** Seconds from a `send` frame's arrival to its `sent` acknowledgement (after COMMIT). */
  sendToAck(seconds: number): void;
  /** Seconds from a message's commit to its push to a live recipient socket. */
  deliveryLatency(seconds: number): void;
  /** A rate-limit refusal, by limit name from the catalogue. */
  rateLimited(limit: string): void;
  /** One store query: its kind (`select`, `insert`, `update`, `delete`, `raw`) and seconds. */
  storeQuery(kind: string, seconds: number): void;
  /** One key operation at the KMS (`wrap`, `unwrap`, `rotate`), its outcome and seconds. */
  keyOperation(op: KeyOperation, outcome: 'success' | 'failure', seconds: number): void;
}

/** How someone authenticated. */
export type AuthMethod = 'password' | 'mfa' | 'passkey' | 'sso' | 'step_up' | 'bearer' | 'websocket';

/** Key operations that are counted and timed. */
export type KeyOperation = 'wrap' | 'unwrap' | 'rotate';
