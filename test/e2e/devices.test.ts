import { describe, expect, it } from 'vitest';
import type { PalisadeClient } from '@palisade/client';
import { addDevice, createUsers, deviceClient, PASS, waitFor } from '../support/users.js';
import { useServerWithAdmin } from '../support/harness.js';

describe('device trust against a real server', () => {
  const env = useServerWithAdmin();

  it('lists devices, and a revoked device loses its socket within 1 s and cannot log in again', async () => {
    const [hana] = (await createUsers(env.server, env.admin, ['hana'])) as [PalisadeClient];
    const stranger = deviceClient(env.server);
    await expect(stranger.login('hana', PASS, 'unknown laptop')).rejects.toMatchObject({
      code: 'device_approval_required',
      status: 403,
    });
    expect(stranger.token).toBeUndefined();
    const tablet = await addDevice(env.server, hana, 'hana', 'tablet');
    const list = await hana.api.call<{
      devices: { id: string; name: string; state: string; current: boolean; lastAddress: string }[];
    }>('GET', '/v1/devices');
    expect(list.devices.map((d) => [d.name, d.state])).toEqual([
      ['hana device 1', 'trusted'],
      ['unknown laptop', 'pending'],
      ['tablet', 'trusted'],
    ]);
    expect(list.devices[0]!.lastAddress).toBe('127.0.0.1');
    let closedAt = 0;
    tablet.on.state = (s) => {
      if (s === 'unauthenticated') closedAt = Date.now();
    };
    await tablet.connect();
    const tabletId = list.devices.find((d) => d.name === 'tablet')!.id;
    const t0 = Date.now();
    await hana.api.call('DELETE', `/v1/devices/${tabletId}`);
    await waitFor(() => closedAt > 0, 1000, 'revoked device socket to close');
    expect(closedAt - t0).toBeLessThan(1000);
    await expect(tablet.login('hana', PASS, 'tablet')).rejects.toMatchObject({ code: 'invalid_device_key' });
    hana.close();
  });
});
