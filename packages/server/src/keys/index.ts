/**
 * Keys: envelope encryption of what the server keeps (per-scope data keys wrapped by the KMS),
 * KEK rotation with online rewrap, re-encryption, and crypto-shredding.
 */
export { EnvelopeSealer, KeyDestroyedError } from './key-service.js';
export { KeyRotation } from './rotation.js';
export type { ResealReport } from './reseal.js';
export { aadOf, auditAad, openColumn, payloadAad, scopeOf, sealColumn, sealInTable } from './sealed-fields.js';
export { instrumentKms } from './instrumented-kms.js';
