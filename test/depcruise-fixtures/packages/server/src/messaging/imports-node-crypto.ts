// expect: crypto-primitives-only-in-crypto
export { randomBytes } from 'node:crypto';
