// expect: store-only-crypto
export { config } from '../config/index.js';
