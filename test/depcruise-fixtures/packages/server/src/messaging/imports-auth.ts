// expect: domain-order-auth-messaging
export { auth } from '../auth/index.js';
