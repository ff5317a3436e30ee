// expect: crypto-primitives-only-in-crypto
export { hash } from '@node-rs/argon2';
