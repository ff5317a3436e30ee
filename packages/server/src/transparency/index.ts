/**
 * Transparency: the organisation signing key (sealed, rotated with endorsements), device credentials
 * issued and appended to an RFC 9162 Merkle log with signed tree heads, the key directory, proofs and
 * head gossip between a user's own devices.
 */
export type { TransparencyDeps } from './deps.js';
/** The cached active organisation key (`current`), created on first need. */
export { OrgSigner, listOrgKeys, rotateOrgKey } from './org-key.js';
/** The in-memory leaf and subtree cache proofs are computed from. */
export { LogCache } from './log-cache.js';
/** Issues the caller's device credential and logs it (idempotent, audited). */
export { issueCredential } from './issue-credential.js';
/** The key directory of users the caller shares a conversation with. */
export { lookupDirectory } from './directory.js';
/** The signed head and the RFC 9162 proofs. */
export { currentHead, getConsistencyProof, getInclusionProof } from './log.js';
/** Head gossip between a user's own devices. */
export { reportGossip, siblingHeads } from './report-gossip.js';
/** The server's Merkle tree (tests cross-check it with the client's verifier). */
export { leafHash, rootOf } from './merkle.js';
/** The per-device request budget of the transparency routes. */
export { spendBudget } from './spend-budget.js';
