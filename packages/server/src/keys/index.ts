/**
 * Keys: envelope encryption of what the server keeps (per-scope data keys wrapped by the KMS),
 * KEK rotation with online rewrap, re-encryption, and crypto-shredding.
 */
export { EnvelopeSealer, INDEX_SCOPE, KeyDestroyedError } from './key-service.js';
export { KeyRotation, type RotationPolicy, type RotationReport } from './rotation.js';
export { resealAll, type ResealReport } from './reseal.js';
export { aadOf, auditAad, openColumn, payloadAad, scopeOf, sealColumn, sealInTable, SEALED_FIELDS, TABLE_SCOPES, type SealedField } from './sealed-fields.js';
