import type { MessagingDeps } from '../messaging/index.js';

/** What the MLS delivery use cases need, passed in by the composition root. */
export interface E2eeDeps {
  /** The messaging dependencies: commits join the conversation's message sequence, outbox and fan-out. */
  messaging: MessagingDeps;
  /**
   * SECURITY: when true (the default, config `e2ee.required`), only MLS application messages are
   * accepted on the send path. Only legacy test harnesses turn it off.
   */
  required: boolean;
}
