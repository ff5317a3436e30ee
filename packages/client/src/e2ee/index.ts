/** End-to-end encryption pieces of the SDK above MLS. */
export {
  decodeEnvelope,
  encodeEnvelope,
  EnvelopeError,
  MAX_ENVELOPE_BYTES,
  MAX_TEXT_BYTES,
  PAD_BUCKETS,
  paddedSize,
  type AttachmentEnvelope,
  type EditEnvelope,
  type Envelope,
  type EnvelopeErrorCode,
  type EnvelopeResult,
  type ReactionEnvelope,
  type ReplyEnvelope,
  type TextEnvelope,
} from './envelope.js';
export { openSecureMessaging, type OpenSecureOptions, type SecureSession } from './open.js';
export { openBotMessaging, type BotMessagingOptions, type BotSession } from './bot.js';
export {
  SecureMessaging,
  KEY_PACKAGE_LOW,
  KEY_PACKAGE_TARGET,
  type SecureMessagingOptions,
} from './secure-messaging.js';
export type { E2eeMessage, E2eeNotice, Me } from './context.js';
export { MemberCheck } from './member-check.js';
export { currentSafetyNumber, markVerified, verificationState, type VerificationState } from './verification.js';
export type {
  DeliveryPort,
  DirectoryPort,
  DirectoryUser,
  GroupStatus,
  HistoryPort,
  LocalStore,
  PendingWelcome,
  SendPort,
  StoredMessage,
  TransparencyPort,
} from './ports.js';
