/** Key management: the Kms interface and its providers (local keyring, PKCS#11 token). */
export type { Kms } from './kms.js';
export { LocalKms } from './local.js';
export { Pkcs11Kms } from './pkcs11.js';
