/**
 * e2ee: the MLS delivery service and KeyPackage directory. The server relays and orders MLS
 * messages and never holds a plaintext or an MLS secret (see README.md).
 */
export type { E2eeDeps } from './deps.js';
export { sendGate } from './send-gate.js';
export { uploadKeyPackages, keyPackageStock } from './key-packages-upload.js';
export { claimKeyPackages, KEY_PACKAGES_LOW } from './key-packages-claim.js';
export { groupStatus, groupInfo } from './group-status.js';
export { submitCommit, WELCOMES_STORED } from './submit-commit.js';
export { listWelcomes, deleteWelcome } from './welcomes.js';
