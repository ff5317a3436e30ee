/**
 * The only module that touches cryptographic primitives (node:crypto, argon2).
 * Everyone else calls these named operations.
 */
export { randomToken, randomId, randomKey, sha256Hex, constantTimeEqual } from './tokens.js';
export {
  hashPassword,
  verifyPassword,
  configurePasswordGate,
  passwordGateStats,
  defaultGateOptions,
  type PasswordHashParams,
} from './passwords.js';
export {
  verifyEd25519,
  isValidEd25519PublicKey,
  generateEd25519Key,
  ed25519SignerFromSeed,
  sha256Bytes,
  type Ed25519Signer,
} from './ed25519.js';
export { generateSelfSignedCertificate, certificateFingerprint, certificateKeyMatch } from './tls-cert.js';
export { newTotpSecret, totpUri, totpAt, verifyTotp, TOTP_STEP_SECONDS } from './totp.js';
export type { Sealer } from './seal.js';
export {
  passkeyRegistrationOptions,
  verifyPasskeyRegistration,
  passkeyAuthenticationOptions,
  verifyPasskeyAuthentication,
  type RelyingParty,
  type StoredCredential,
} from './webauthn.js';
export {
  attestationAllowlist,
  attestationAssurance,
  EMPTY_ALLOWLIST,
  type AttestationAllowlist,
} from './attestation.js';
export { OidcRelyingParty, type OidcRequestSecrets, type OidcClaims } from './oidc.js';
export {
  aesGcmEncrypt,
  aesGcmDecrypt,
  newGcmNonce,
  aesKeyWrap,
  aesKeyUnwrap,
  aesKeyWrapPad,
  aesKeyUnwrapPad,
  hkdfSha256,
  hmacSha256,
  hmacSha256Verify,
  x25519,
  CryptoShapeError,
  CryptoIntegrityError,
} from './primitives.js';
export { LocalKms, Pkcs11Kms, type Kms } from './kms/index.js';
export { decryptBackupFile, encryptBackupFile, readBackupHeader, type BackupHeader } from './backup-file.js';
