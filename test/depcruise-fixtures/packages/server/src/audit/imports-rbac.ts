// expect: domain-order-audit
export { rbac } from '../rbac/index.js';
