// expect: transport-not-entry
export { server } from '../server/index.js';
