// expect: nobody-imports-detect
export { detect } from '../detect/index.js';
