/**
 * Messaging: direct and group conversations, members and roles, idempotent sends with
 * per-conversation sequence numbers, history, delivery and read cursors, the transactional outbox.
 */
export type { MessagingDeps, SendGate, SendTicket } from './deps.js';
export {
  MESSAGE_SENT,
  MEMBERS_CHANGED,
  RECEIPT_UPDATED,
  TYPING_STARTED,
  type StoredMessage,
  type MessageSent,
  type MembersChanged,
  type ReceiptUpdated,
  type TypingStarted,
} from './events.js';
export { Outbox } from './outbox.js';
export { SendQueue, sendLanes } from './send-queue.js';
export { CursorWriter } from './cursor-writer.js';
export { sendMessage } from './send-message.js';
export { appendMessage, payloadAtRest, takeSeq } from './append.js';
export { listMessages, readRange } from './history.js';
export { presentMessage } from './present.js';
export { deviceCursors, acknowledgeDelivery, markRead, receiptCursors } from './cursors.js';
export {
  openDirect,
  createGroup,
  addMember,
  removeMember,
  listConversations,
  conversationMembers,
  updateConversation,
  deleteConversation,
} from './conversations.js';
