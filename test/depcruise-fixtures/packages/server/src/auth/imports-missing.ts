// expect: no-unresolvable
export { nothing } from './no-such-file.js';
