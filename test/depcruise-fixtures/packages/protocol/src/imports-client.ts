// expect: protocol-imports-no-package
export { client } from '../../client/src/index.js';
