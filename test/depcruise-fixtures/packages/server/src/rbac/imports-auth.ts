// expect: domain-order-rbac
export { auth } from '../auth/index.js';
