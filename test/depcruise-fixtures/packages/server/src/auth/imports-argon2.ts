// expect: crypto-primitives-only-in-crypto
export { hash } from 'argon2';
