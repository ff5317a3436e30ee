// expect: packages-not-server-internals, protocol-imports-no-package
export { server } from '../../server/src/server/index.js';
