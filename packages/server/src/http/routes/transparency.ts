import { ConsistencyQuery, DirectoryQuery, GossipRequest, InclusionQuery } from '@palisade/protocol';
import {
  currentHead,
  getConsistencyProof,
  getInclusionProof,
  issueCredential,
  listOrgKeys,
  lookupDirectory,
  reportGossip,
  siblingHeads,
  spendBudget,
} from '../../transparency/index.js';
import { route } from '../route.js';

/** Device credentials, the key directory and the key-transparency log (issue 10). */
export const transparencyRoutes = [
  route({
    method: 'POST',
    url: '/v1/e2ee/credential',
    access: 'authenticated',
    summary: "Issue (or return) this device's organisation-signed credential, logged, with its inclusion proof",
    handler: ({ deps, principal, address }) => {
      spendBudget(deps.transparency, principal);
      return issueCredential(deps.transparency, principal, address);
    },
  }),
  route({
    method: 'GET',
    url: '/v1/e2ee/directory',
    access: 'authenticated',
    summary: 'Credentialed active devices of users I share a conversation with (or myself), max 100',
    query: DirectoryQuery,
    handler: ({ deps, principal, query }) => {
      spendBudget(deps.transparency, principal);
      return lookupDirectory(deps.transparency, principal, query.userIds);
    },
  }),
  route({
    method: 'GET',
    url: '/v1/e2ee/org-keys',
    access: 'authenticated',
    summary: 'The organisation signing keys, retired ones included, with their endorsements',
    handler: async ({ deps, principal }) => {
      spendBudget(deps.transparency, principal);
      return { keys: await listOrgKeys(deps.transparency) };
    },
  }),
  route({
    method: 'GET',
    url: '/v1/e2ee/kt/head',
    access: 'authenticated',
    summary: 'The latest signed tree head of the transparency log',
    handler: ({ deps, principal }) => {
      spendBudget(deps.transparency, principal);
      return currentHead(deps.transparency);
    },
  }),
  route({
    method: 'GET',
    url: '/v1/e2ee/kt/inclusion',
    access: 'authenticated',
    summary: 'RFC 9162 inclusion proof of a leaf in the tree of a given size',
    query: InclusionQuery,
    handler: async ({ deps, principal, query }) => {
      spendBudget(deps.transparency, principal);
      return { proof: await getInclusionProof(deps.transparency, query.leafIndex, query.treeSize) };
    },
  }),
  route({
    method: 'GET',
    url: '/v1/e2ee/kt/consistency',
    access: 'authenticated',
    summary: 'RFC 9162 consistency proof between two tree sizes',
    query: ConsistencyQuery,
    handler: async ({ deps, principal, query }) => {
      spendBudget(deps.transparency, principal);
      return { proof: await getConsistencyProof(deps.transparency, query.from, query.to) };
    },
  }),
  route({
    method: 'POST',
    url: '/v1/e2ee/kt/gossip',
    access: 'authenticated',
    summary: 'Report the latest tree head this device saw, signed by its device key',
    body: GossipRequest,
    status: 204,
    handler: async ({ deps, principal, body }) => {
      spendBudget(deps.transparency, principal);
      await reportGossip(deps.transparency, principal, body);
    },
  }),
  route({
    method: 'GET',
    url: '/v1/e2ee/kt/gossip',
    access: 'authenticated',
    summary: 'The tree heads my other devices reported, with their device-key signatures',
    handler: async ({ deps, principal }) => {
      spendBudget(deps.transparency, principal);
      return { heads: await siblingHeads(deps.transparency, principal) };
    },
  }),
];
