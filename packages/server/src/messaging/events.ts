/** A stored message as delivered to devices. The payload is opaque (end-to-end ciphertext). */
export interface StoredMessage {
  conversationId: string;
  seq: number;
  senderId: string;
  senderDeviceId: string;
  clientMsgId: string;
  payload: Uint8Array;
  sentAt: number;
}

/** `message.sent`: published after commit. `message` is absent when replayed from the outbox after a crash. */
export const MESSAGE_SENT = 'message.sent';
export interface MessageSent {
  conversationId: string;
  seq: number;
  message?: StoredMessage;
}

/** `conversation.members_changed`: members joined or left; live sockets update at once. */
export const MEMBERS_CHANGED = 'conversation.members_changed';
export interface MembersChanged {
  conversationId: string;
  added: string[];
  removed: string[];
}

/** `receipt.updated`: a device received, or a user read, up to `seq` (ephemeral fan-out; cursors are stored). */
export const RECEIPT_UPDATED = 'receipt.updated';
export interface ReceiptUpdated {
  conversationId: string;
  userId: string;
  kind: 'delivered' | 'read';
  seq: number;
}

/** `typing.started`: ephemeral, never stored. */
export const TYPING_STARTED = 'typing.started';
export interface TypingStarted {
  conversationId: string;
  userId: string;
}
