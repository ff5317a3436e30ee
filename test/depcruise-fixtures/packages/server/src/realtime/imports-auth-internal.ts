// expect: through-index-only
export { internal } from '../auth/internal.js';
