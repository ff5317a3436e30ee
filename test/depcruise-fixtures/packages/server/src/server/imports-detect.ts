// server/ wires detect: no expectation.
export { detect } from '../detect/index.js';
