import type { AlertPayload } from '../model.js';

/** Where alerts are sent: one configured channel. `send` resolves once the receiver took the alert. */
export interface AlertChannel {
  readonly name: string;
  readonly type: 'webhook' | 'syslog' | 'email';
  send(payload: AlertPayload): Promise<void>;
  /** Releases pooled connections (e-mail). */
  close?(): Promise<void>;
}
