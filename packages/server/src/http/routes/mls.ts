import {
  ClaimKeyPackagesRequest,
  IdParams,
  MlsCommitRequest,
  UploadKeyPackagesRequest,
  WelcomeParams,
} from '@palisade/protocol';
import {
  claimKeyPackages,
  deleteWelcome,
  groupInfo,
  groupStatus,
  keyPackageStock,
  listWelcomes,
  submitCommit,
  uploadKeyPackages,
} from '../../e2ee/index.js';
import { route } from '../route.js';

/**
 * The MLS delivery service and KeyPackage directory (docs/protocol.md, "End-to-end encryption").
 * Conversation routes check membership again on the object inside the domain.
 */
export const mlsRoutes = [
  route({
    method: 'POST',
    url: '/v1/mls/key-packages',
    access: 'authenticated',
    summary: "Upload this device's MLS KeyPackages (one-time, or the last resort)",
    body: UploadKeyPackagesRequest,
    handler: async ({ deps, principal, body }) => uploadKeyPackages(deps.e2ee, principal, body),
  }),
  route({
    method: 'POST',
    url: '/v1/mls/key-packages/claim',
    access: 'authenticated',
    summary: 'Claim one KeyPackage per device (own devices and devices of co-members)',
    body: ClaimKeyPackagesRequest,
    handler: async ({ deps, principal, body }) => claimKeyPackages(deps.e2ee, principal, body.deviceIds),
  }),
  route({
    method: 'GET',
    url: '/v1/mls/key-packages/stock',
    access: 'authenticated',
    summary: "This device's KeyPackage stock",
    handler: async ({ deps, principal }) => keyPackageStock(deps.e2ee, principal),
  }),
  route({
    method: 'GET',
    url: '/v1/mls/welcomes',
    access: 'authenticated',
    summary: "This device's waiting MLS Welcomes",
    handler: async ({ deps, principal }) => ({ welcomes: await listWelcomes(deps.e2ee, principal) }),
  }),
  route({
    method: 'DELETE',
    url: '/v1/mls/welcomes/:id',
    access: 'authenticated',
    summary: 'Delete one of my processed Welcomes',
    params: WelcomeParams,
    handler: async ({ deps, principal, params }) => {
      await deleteWelcome(deps.e2ee, principal, params.id);
    },
  }),
  route({
    method: 'GET',
    url: '/v1/conversations/:id/mls',
    access: 'conversation.read',
    summary: "The conversation's MLS group: epoch, devices in it, missing and stale devices",
    params: IdParams,
    handler: async ({ deps, principal, params }) => groupStatus(deps.e2ee, principal, params.id),
  }),
  route({
    method: 'POST',
    url: '/v1/conversations/:id/mls/commit',
    access: 'message.send',
    summary: 'Submit the one commit of an epoch (appended to the message sequence)',
    params: IdParams,
    body: MlsCommitRequest,
    handler: async ({ deps, principal, params, body }) => submitCommit(deps.e2ee, principal, params.id, body),
  }),
  route({
    method: 'GET',
    url: '/v1/conversations/:id/mls/group-info',
    access: 'conversation.read',
    summary: "The group's current GroupInfo (to re-join by external commit)",
    params: IdParams,
    handler: async ({ deps, principal, params }) => groupInfo(deps.e2ee, principal, params.id),
  }),
];
