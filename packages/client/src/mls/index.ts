/** MLS (RFC 9420) for the SDK: our adapter interface and its ts-mls implementation. */
export {
  MLS_SUITES,
  MlsError,
  type CredentialValidator,
  type DeviceIdentity,
  type GeneratedKeyPackage,
  type MlsAdapter,
  type MlsCommitResult,
  type MlsErrorCode,
  type MlsGroup,
  type MlsIncoming,
  type MlsMember,
  type MlsPeek,
  type MlsSuiteName,
} from './adapter.js';
export { createTsMlsAdapter, type TsMlsAdapterOptions } from './ts-mls-adapter.js';
export { ed25519Signature, type Ed25519Variant } from './ts-mls-crypto.js';
