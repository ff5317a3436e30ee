import { ed25519 } from '@noble/curves/ed25519.js';
import {
  defaultCryptoProvider,
  getCiphersuiteFromName,
  type CiphersuiteImpl,
  type CryptoProvider,
  type Signature,
} from 'ts-mls';
import type { MlsSuiteName } from './adapter.js';

/**
 * Ed25519 for ts-mls with imported keys cached. ts-mls's default provider imports the key into
 * WebCrypto again for every signature and verification (PKCS#8 wrapping included); its noble
 * provider is pure JavaScript. Measured in Node 20 on the bench machine (bench `e2ee.signature`):
 * WebCrypto with a cached CryptoKey signs ~6x faster than importing each time and ~3x faster than
 * noble, and verifies ~9x faster than noble. So: WebCrypto with cached keys, noble where WebCrypto
 * has no Ed25519 (older browsers).
 *
 * SECURITY: the cache holds non-extractable CryptoKeys, keyed by the key bytes (hex, in this
 * process's memory only, like the key itself); it is bounded, so a group with many members cannot
 * grow it without limit. Secret keys are imported for signing only and never exported.
 */
const MAX_CACHED_KEYS = 1024;

/** A small least-recently-used map (insertion order of a Map). */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(k: string): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }
  set(k: string, v: V): void {
    this.map.set(k, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }
}

const keyId = (bytes: Uint8Array): string => {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
};

/** PKCS#8 wrapping of a 32-byte Ed25519 seed (RFC 8410). */
function pkcs8(seed: Uint8Array): Uint8Array<ArrayBuffer> {
  const prefix = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
  const out = new Uint8Array(prefix.length + 32);
  out.set(prefix);
  out.set(seed, prefix.length);
  return out;
}

/** WebCrypto's key type (the SDK's lib has no DOM types). */
type CryptoKey = Awaited<ReturnType<typeof globalThis.crypto.subtle.importKey>>;

const copy = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b);

/** The Ed25519 implementation variants the bench compares. */
export type Ed25519Variant = 'webcrypto-cached' | 'webcrypto-uncached' | 'noble';

/** An Ed25519 `Signature` for ts-mls. Keys are 32-byte seeds and 32-byte public keys. */
export function ed25519Signature(variant: Ed25519Variant = 'webcrypto-cached'): Signature {
  const subtle = globalThis.crypto?.subtle;
  const keygen = () => {
    const signKey = ed25519.utils.randomSecretKey();
    return Promise.resolve({ signKey, publicKey: ed25519.getPublicKey(signKey) });
  };
  const noble: Signature = {
    sign: (signKey, message) => Promise.resolve(ed25519.sign(message, signKey)),
    verify(publicKey, message, signature) {
      try {
        return Promise.resolve(ed25519.verify(signature, message, publicKey));
      } catch {
        return Promise.resolve(false);
      }
    },
    keygen,
  };
  if (variant === 'noble' || subtle === undefined) return noble;
  const cache = variant === 'webcrypto-cached';
  const signKeys = new Lru<Promise<CryptoKey>>(MAX_CACHED_KEYS);
  const verifyKeys = new Lru<Promise<CryptoKey>>(MAX_CACHED_KEYS);
  const importSign = (seed: Uint8Array): Promise<CryptoKey> =>
    subtle.importKey('pkcs8', pkcs8(seed), 'Ed25519', false, ['sign']);
  const importVerify = (pub: Uint8Array): Promise<CryptoKey> =>
    subtle.importKey('raw', copy(pub), 'Ed25519', false, ['verify']);
  const cached = (lru: Lru<Promise<CryptoKey>>, bytes: Uint8Array, load: (b: Uint8Array) => Promise<CryptoKey>) => {
    if (!cache) return load(bytes);
    const id = keyId(bytes);
    let key = lru.get(id);
    if (key === undefined) {
      key = load(bytes);
      // A failed import is not cached: the next call tries again (and fails the same way).
      key.catch(() => undefined);
      lru.set(id, key);
    }
    return key;
  };
  return {
    async sign(signKey, message) {
      if (signKey.length !== 32) throw new Error('an Ed25519 signing key is a 32-byte seed');
      const key = await cached(signKeys, signKey, importSign);
      return new Uint8Array(await subtle.sign('Ed25519', key, copy(message)));
    },
    async verify(publicKey, message, signature) {
      if (publicKey.length !== 32 || signature.length !== 64) return false;
      try {
        const key = await cached(verifyKeys, publicKey, importVerify);
        return await subtle.verify('Ed25519', key, copy(signature), copy(message));
      } catch {
        return false;
      }
    },
    keygen,
  };
}

/**
 * A ts-mls crypto provider: the default one (WebCrypto AEAD and hashes, @hpke for X-Wing) with
 * Ed25519 signing and verification replaced by {@link ed25519Signature}.
 */
export function cachedKeyProvider(variant: Ed25519Variant = 'webcrypto-cached'): CryptoProvider {
  const signature = ed25519Signature(variant);
  return {
    async getCiphersuiteImpl(cs) {
      const base = await defaultCryptoProvider.getCiphersuiteImpl(cs);
      return cs.signature === 'Ed25519' ? { ...base, signature } : base;
    },
  };
}

/** The ts-mls implementation of one of our suites. */
export async function suiteImpl(suite: MlsSuiteName, variant?: Ed25519Variant): Promise<CiphersuiteImpl> {
  return cachedKeyProvider(variant).getCiphersuiteImpl(getCiphersuiteFromName(suite));
}
