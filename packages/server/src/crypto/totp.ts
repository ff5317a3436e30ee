import { randomBytes } from 'node:crypto';
import { Secret as OtpSecret, TOTP } from 'otpauth';

/** RFC 6238 parameters Palisade uses: SHA-1, 6 digits, 30 s steps (what authenticator apps support). */
export const TOTP_STEP_SECONDS = 30;
export const TOTP_DIGITS = 6;

/** A new random TOTP secret (160 bits), base32 encoded. */
export function newTotpSecret(): string {
  return new OtpSecret({ buffer: randomBytes(20).buffer }).base32;
}

/** The otpauth:// URI an authenticator app scans. */
export function totpUri(secretBase32: string, issuer: string, account: string): string {
  return new TOTP({
    issuer,
    label: account,
    secret: OtpSecret.fromBase32(secretBase32),
    digits: TOTP_DIGITS,
    period: TOTP_STEP_SECONDS,
    algorithm: 'SHA1',
  }).toString();
}

/** The code for a secret at a time (for tests and vectors). */
export function totpAt(
  secret: { base32?: string; ascii?: string },
  atMs: number,
  opts: { digits?: number; algorithm?: 'SHA1' | 'SHA256' | 'SHA512' } = {},
): string {
  const s =
    secret.base32 !== undefined ? OtpSecret.fromBase32(secret.base32) : OtpSecret.fromLatin1(secret.ascii ?? '');
  return new TOTP({
    secret: s,
    digits: opts.digits ?? TOTP_DIGITS,
    period: TOTP_STEP_SECONDS,
    algorithm: opts.algorithm ?? 'SHA1',
  }).generate({ timestamp: atMs });
}

/**
 * Checks a code against the steps at `atMs` and one step either side (SECURITY-BASELINE: at most one
 * step of drift). Returns the matching step number, or undefined. Comparison is constant-time
 * inside otpauth. The caller enforces single use by refusing steps not above the last used one.
 */
export function verifyTotp(secretBase32: string, code: string, atMs: number): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const totp = new TOTP({
    secret: OtpSecret.fromBase32(secretBase32),
    digits: TOTP_DIGITS,
    period: TOTP_STEP_SECONDS,
    algorithm: 'SHA1',
  });
  const delta = totp.validate({ token: code, timestamp: atMs, window: 1 });
  if (delta === null) return undefined;
  return Math.floor(atMs / 1000 / TOTP_STEP_SECONDS) + delta;
}
