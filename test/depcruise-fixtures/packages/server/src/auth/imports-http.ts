// expect: domain-not-transport
export { http } from '../http/index.js';
