// expect: protocol-no-io
export { readFileSync } from 'node:fs';
