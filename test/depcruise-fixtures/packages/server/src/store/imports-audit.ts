// expect: infra-only-kernel
export { audit } from '../audit/index.js';
