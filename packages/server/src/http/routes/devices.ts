import { IdParams } from '@palisade/protocol';
import { approveDevice, listMyDevices, revokeDevice } from '../../auth/index.js';
import { route } from '../route.js';

/** Device trust: my devices, approving a new one, revoking one. */
export const deviceRoutes = [
  route({
    method: 'GET',
    url: '/v1/devices',
    access: 'device.manage_own',
    summary: 'My devices: name, platform, first and last seen, last address, state',
    handler: async ({ deps, principal }) => ({ devices: await listMyDevices(deps.auth, principal) }),
  }),
  route({
    method: 'POST',
    url: '/v1/devices/:id/approve',
    access: 'device.manage_own',
    summary: 'Approve my new device from a trusted one',
    params: IdParams,
    handler: async ({ deps, principal, params }) => {
      await approveDevice(deps.auth, principal, params.id);
    },
  }),
  route({
    method: 'DELETE',
    url: '/v1/devices/:id',
    access: 'device.manage_own',
    summary: 'Revoke my device (its sessions and sockets end)',
    params: IdParams,
    handler: async ({ deps, principal, params }) => {
      await revokeDevice(deps.auth, principal, params.id, { any: false });
    },
  }),
  route({
    method: 'POST',
    url: '/v1/admin/devices/:id/revoke',
    access: 'device.revoke_any',
    summary: 'Revoke any device (step-up)',
    params: IdParams,
    handler: async ({ deps, principal, params }) => {
      await revokeDevice(deps.auth, principal, params.id, { any: true });
    },
  }),
];
