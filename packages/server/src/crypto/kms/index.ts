/** Key management: the Kms interface and its providers (local keyring today; PKCS#11 next). */
export type { Kms } from './kms.js';
export { LocalKms } from './local.js';
