import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  certificateFingerprint,
  constantTimeEqual,
  generateSelfSignedCertificate,
  hashPassword,
  newGcmNonce,
  randomToken,
  sha256Hex,
  verifyPassword,
} from './index.js';

describe('crypto operations', () => {
  it('makes 256-bit url-safe tokens that do not repeat', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => randomToken()));
    expect(seen.size).toBe(1000);
    for (const t of seen) expect(Buffer.from(t, 'base64url')).toHaveLength(32);
  });

  it('compares equal and unequal strings of any length', () => {
    expect(constantTimeEqual(sha256Hex('a'), sha256Hex('a'))).toBe(true);
    expect(constantTimeEqual(sha256Hex('a'), sha256Hex('b'))).toBe(false);
    expect(constantTimeEqual('short', 'longer')).toBe(false);
  });

  it('v5.0.0-11.4.2 hashes passwords with argon2id, >= 46 MiB, p = 1, 16-byte salt, and verifies exactly', async () => {
    const h = await hashPassword('Pässwörd with spaces ', { memoryKiB: 47104, iterations: 1 });
    // PHC string: $argon2id$v=19$<m,t,p in any order>$<salt>$<hash>
    const m = /^\$argon2id\$v=19\$([a-z]=\d+(?:,[a-z]=\d+){2})\$([^$]+)\$/.exec(h);
    expect(m).not.toBeNull();
    const params = Object.fromEntries(m![1]!.split(',').map((kv) => kv.split('=') as [string, string]));
    expect(Number(params.m)).toBeGreaterThanOrEqual(47104);
    expect(Number(params.p)).toBe(1);
    expect(Number(params.t)).toBeGreaterThanOrEqual(1);
    expect(Buffer.from(m![2]!, 'base64')).toHaveLength(16);
    expect(await verifyPassword(h, 'Pässwörd with spaces ')).toBe(true);
    expect(await verifyPassword(h, 'Pässwörd with spaces')).toBe(false); // no trimming
    expect(await verifyPassword(h, 'pässwörd with spaces ')).toBe(false); // no case folding
    expect(await verifyPassword('not a hash', 'x')).toBe(false);
  });

  it('verifies a hash stored by the earlier binding (node-argon2 0.45, parameters in m,p,t order)', async () => {
    // Made with argon2@0.45.1: hash('old binding pass', { type: argon2id, memoryCost: 47104, timeCost: 1, parallelism: 1 }).
    const old = '$argon2id$v=19$m=47104,p=1,t=1$tcX/zxJIoeidUDa12tV7mg$To5zMQwDrZmMpwPgfz3oKbFNWjC3t4ryuyDRDp/GVfg';
    expect(await verifyPassword(old, 'old binding pass')).toBe(true);
    expect(await verifyPassword(old, 'old binding pasS')).toBe(false);
  });

  it('generates a self-signed certificate for localhost with a SHA-256 fingerprint', async () => {
    const pair = await generateSelfSignedCertificate();
    const cert = new X509Certificate(pair.certPem);
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(pair.keyPem))).toBe(true);
    expect(certificateFingerprint(pair.certPem)).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });
});

describe('AES-GCM nonces from the pooled CSPRNG', () => {
  it('are 96 bits and never repeat, across many pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const n = newGcmNonce();
      expect(n.length).toBe(12);
      seen.add(n.toString('hex'));
    }
    expect(seen.size).toBe(20_000);
    // A returned nonce is a copy: changing it cannot change a later one.
    const a = newGcmNonce();
    a.fill(0);
    expect(newGcmNonce().equals(Buffer.alloc(12))).toBe(false);
  });
});
