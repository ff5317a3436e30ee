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
