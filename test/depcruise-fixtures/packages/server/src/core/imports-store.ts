// expect: kernel-imports-nothing
export { store } from '../store/index.js';
