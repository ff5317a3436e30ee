/** Automatic response: playbooks as data, containments applied, approved, undone and expired. */
export { Responder } from './responder.js';
export { loadAddressBlocks } from './sealed.js';
