// expect: domain-order-leaves
export { audit } from '../audit/index.js';
