/**
 * Keys: envelope encryption of what the server keeps (per-scope data keys wrapped by the KMS),
 * KEK rotation with online rewrap, and crypto-shredding.
 */
export { EnvelopeSealer, KeyDestroyedError } from './key-service.js';
