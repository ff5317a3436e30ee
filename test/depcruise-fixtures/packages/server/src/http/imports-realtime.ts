// expect: http-not-realtime
export { realtime } from '../realtime/index.js';
