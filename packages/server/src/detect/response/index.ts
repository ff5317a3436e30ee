/** Automatic response: playbooks as data, containments applied, approved, undone and expired. */
export { Responder, type ResponderDeps, type ContainmentFilter } from './responder.js';
export { loadAddressBlocks } from './sealed.js';
