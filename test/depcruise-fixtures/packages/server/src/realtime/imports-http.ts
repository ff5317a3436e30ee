// expect: realtime-not-http
export { http } from '../http/index.js';
