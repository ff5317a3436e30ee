import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { aesGcmDecrypt, aesGcmEncrypt, newGcmNonce } from './primitives.js';

/**
 * Seals small secrets the server must keep (TOTP secrets today). This is the seam the
 * encryption-at-rest work replaces with envelope encryption under a KMS-held key.
 */
export interface Sealer {
  /**
   * AES-256-GCM under the current key of `scope` (default: the server's own); `aad` binds the value
   * to where it is stored (table, column, row).
   */
  seal(plaintext: Uint8Array, aad: string, scope?: string): Promise<string>;
  /** Opens a sealed value; throws if it was altered or moved to another place (aad). */
  unseal(sealed: string, aad: string): Promise<Uint8Array>;
}

const VERSION = 'v1';

/**
 * A Sealer with one 256-bit key from a local file (mode 0600), created on first use.
 * SECURITY: 96-bit random nonce per value, 128-bit tag, AAD binding table/column/row.
 */
export class LocalKeySealer implements Sealer {
  private readonly key: Buffer;

  constructor(keyFile: string) {
    if (existsSync(keyFile)) {
      this.key = Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64');
    } else {
      mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 });
      this.key = randomBytes(32);
      writeFileSync(keyFile, this.key.toString('base64'), { mode: 0o600 });
      chmodSync(keyFile, 0o600);
    }
    if (this.key.length !== 32) throw new Error(`${keyFile} does not hold a 256-bit key`);
  }

  async seal(plaintext: Uint8Array, aad: string): Promise<string> {
    const iv = newGcmNonce();
    const { ct, tag } = aesGcmEncrypt(this.key, iv, plaintext, Buffer.from(aad, 'utf8'));
    return [VERSION, iv.toString('base64url'), ct.toString('base64url'), tag.toString('base64url')].join('.');
  }

  async unseal(sealed: string, aad: string): Promise<Uint8Array> {
    const [v, iv, body, tag] = sealed.split('.');
    if (v !== VERSION || !iv || body === undefined || !tag) throw new Error('not a sealed value');
    const ivb = Buffer.from(iv, 'base64url');
    const tagb = Buffer.from(tag, 'base64url');
    if (ivb.length !== 12 || tagb.length !== 16) throw new Error('not a sealed value');
    return aesGcmDecrypt(this.key, ivb, Buffer.from(body, 'base64url'), tagb, Buffer.from(aad, 'utf8'));
  }
}
