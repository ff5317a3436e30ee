/**
 * The messaging events. Their data types live in the event catalogue (core/events.ts) beside the Bus,
 * so the compiler checks every publish and subscribe; these are the names messaging code uses.
 */
export type { StoredMessage, MessageSent, MembersChanged, ReceiptUpdated, TypingStarted } from '../core/index.js';

/** `message.sent` (reliable): published after commit; replayed from the outbox after a crash. */
export const MESSAGE_SENT = 'message.sent';

/** `conversation.members_changed` (reliable): members joined or left; live sockets update at once. */
export const MEMBERS_CHANGED = 'conversation.members_changed';

/** `receipt.updated` (ephemeral): a device received, or a user read, up to `seq`. */
export const RECEIPT_UPDATED = 'receipt.updated';

/** `typing.started` (ephemeral): never stored. */
export const TYPING_STARTED = 'typing.started';
