// expect: packages-not-server-internals
// The edge into a built dist/ folder stays visible (dist is a leaf, not excluded).
export { server } from '../../server/dist/index.js';
