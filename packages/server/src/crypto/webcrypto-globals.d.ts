// @peculiar/x509's declarations name the DOM's global CryptoKey and CryptoKeyPair. This project compiles
// without the DOM lib, so those names are given Node's own Web Crypto types (the same objects at run time).
import type { webcrypto } from 'node:crypto';

declare global {
  type CryptoKey = webcrypto.CryptoKey;
  type CryptoKeyPair = webcrypto.CryptoKeyPair;
}
