import type { Command } from 'commander';
import { run, savedClient } from './connect.js';
import { withInvocation } from './invocation.js';
import { resetDeviceKey } from './profile.js';
import { ask, confirmDestructive } from './prompt.js';

/** One line on stdout; commands it names are the ones the person can run. */
const out = (line: string): void => void process.stdout.write(`${withInvocation(line)}\n`);

/** Self-service: sessions, devices, step-up. */
export function addAccountCommands(program: Command): void {
  program
    .command('sessions')
    .description('list your open sessions')
    .action(() =>
      run(async () => {
        const { sessions } = await savedClient().api.sessions();
        if (sessions.length === 0) out('no open sessions');
        for (const s of sessions) out(`${s.id}  ${s.deviceName}${s.current ? '  (this one)' : ''}`);
      }),
    );
  program
    .command('end-session <id>')
    .description('end one of your sessions (its sockets close)')
    .action((id: string) =>
      run(async () => {
        await savedClient().api.call('DELETE', `/v1/sessions/${encodeURIComponent(id)}`);
        out(`ended session ${id}`);
      }),
    );

  const devices = program.command('devices').description('your devices: list, approve a new one, revoke one');
  devices
    .command('list', { isDefault: true })
    .description('list your devices')
    .action(() =>
      run(async () => {
        const r = await savedClient().api.call<{
          devices: {
            id: string;
            name: string;
            platform: string;
            state: string;
            lastSeen: string;
            lastAddress: string | null;
            current: boolean;
          }[];
        }>('GET', '/v1/devices');
        for (const d of r.devices)
          out(
            `${d.id}  ${d.state.padEnd(8)} ${d.name} (${d.platform}), last seen ${d.lastSeen} from ${d.lastAddress ?? '?'}${d.current ? '  (this one)' : ''}`,
          );
      }),
    );
  devices
    .command('approve <id>')
    .description('approve a new device that is waiting (run this on a trusted device)')
    .action((id: string) =>
      run(async () => {
        await savedClient().api.call('POST', `/v1/devices/${encodeURIComponent(id)}/approve`);
        out(`approved device ${id}: log in on it again now`);
      }),
    );
  devices
    .command('revoke <id>')
    .description('revoke a device: its sessions end and its key can no longer log in (asks first; --yes skips)')
    .option('-y, --yes', 'do not ask (for scripts)')
    .action((id: string, o: { yes?: boolean }) =>
      run(async () => {
        await confirmDestructive(o, `revoke device ${id} (its key can never log in again)`);
        await savedClient().api.call('DELETE', `/v1/devices/${encodeURIComponent(id)}`);
        out(`revoked device ${id}; its sessions have ended`);
      }),
    );

  devices
    .command('reset')
    .description(
      'make a new device key for this computer (after this device was revoked): the old key is kept as device.key.old-<time>, the session ends; then log in again (a trusted device approves the new one)',
    )
    .action(() => {
      const backup = resetDeviceKey();
      process.stderr.write(
        withInvocation(
          `${backup ? `the old device key is kept in ${backup}; ` : ''}a new one is made at the next login: run \`palisade-chat login\`.\n`,
        ),
      );
    });

  program
    .command('profile')
    .description('show or change your display name and e-mail (stored sealed on the server)')
    .option('--display-name <name>', 'your new display name')
    .option('--email <address>', 'your e-mail address ("" removes it)')
    .action((o: { displayName?: string; email?: string }) =>
      run(async () => {
        const client = savedClient();
        if (o.displayName !== undefined || o.email !== undefined) {
          await client.api.updateProfile({
            ...(o.displayName !== undefined ? { displayName: o.displayName } : {}),
            ...(o.email !== undefined ? { email: o.email === '' ? null : o.email } : {}),
          });
        }
        const me = await client.api.me();
        out(`${me.username}  display name: ${me.displayName ?? '(none)'}  e-mail: ${me.email ?? '(none)'}`);
      }),
    );

  program
    .command('step-up')
    .description('confirm your second factor before a sensitive action (valid for a few minutes)')
    .action(() =>
      run(async () => {
        await savedClient().api.stepUp((await ask('Authentication code: ', true)).trim());
        process.stderr.write('confirmed\n');
      }),
    );
}
