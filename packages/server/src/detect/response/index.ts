/** Automatic response: playbooks as data, containments applied, approved, undone and expired. */
export { Responder, type ResponderDeps, type ContainmentFilter } from './responder.js';
export { DEFAULT_PLAYBOOKS, resolvePlaybooks, stepsFor } from './playbooks.js';
export { FOREVER } from './actions.js';
export { loadAddressBlocks } from './sealed.js';
