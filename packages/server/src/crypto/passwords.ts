import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';

/** argon2id cost parameters. SECURITY-BASELINE: memory >= 47104 KiB, t >= 1, p = 1. */
export interface PasswordHashParams {
  memoryKiB: number;
  iterations: number;
}

/** Hashes a password with argon2id and a fresh 16-byte salt; returns the PHC string. */
export async function hashPassword(password: string, params: PasswordHashParams): Promise<string> {
  return argon2.hash(password, {
    type: argon2.argon2id,
    memoryCost: params.memoryKiB,
    timeCost: params.iterations,
    parallelism: 1,
    salt: randomBytes(16),
  });
}

/** Verifies a password against a PHC string; false on mismatch or on a malformed hash. */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}
