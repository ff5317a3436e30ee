// expect: crypto-primitives-only-in-crypto
export { TOTP } from 'otpauth';
