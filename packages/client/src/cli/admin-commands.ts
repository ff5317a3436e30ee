import type { Command } from 'commander';
import { run, savedClient } from './connect.js';
import { withInvocation } from './invocation.js';
import { confirmDestructive } from './prompt.js';

/** One line on stdout; commands it names are the ones the person can run. */
const out = (line: string): void => void process.stdout.write(`${withInvocation(line)}\n`);

async function userId(username: string): Promise<string> {
  const r = await savedClient().api.call<{ users: { id: string; username: string }[] }>('GET', '/v1/admin/users');
  const u = r.users.find((x) => x.username === username);
  if (!u) throw new Error(`no user named ${username}`);
  return u.id;
}

/** One line for a two-person request: what it would do. */
function describeRequest(action: string, params: Record<string, unknown>): string {
  if (action === 'role.grant') return `grant ${String(params.role)} to user ${String(params.userId)}`;
  if (action === 'invite.grant')
    return `invite a ${String(params.role)} with ${Array.isArray(params.grants) ? params.grants.join(', ') : ''}`;
  if (action === 'factor.reset') return `reset the factors of user ${String(params.userId)}`;
  return action;
}

/** Administration through the HTTP API with your own session (roles and step-up apply). */
export function addAdminCommands(program: Command): void {
  const admin = program
    .command('admin')
    .description('administration with your own session: users, roles, approvals (needs admin roles)');
  admin
    .command('users')
    .description("list accounts, or find one by e-mail (exact, through the server's blind index)")
    .option('--email <address>', 'only the account with this e-mail')
    .action((o: { email?: string }) =>
      run(async () => {
        const q = o.email ? `?email=${encodeURIComponent(o.email)}` : '';
        const r = await savedClient().api.call<{
          users: {
            id: string;
            username: string;
            role: string;
            disabled: boolean;
            mfa: boolean;
            displayName: string | null;
          }[];
        }>('GET', `/v1/admin/users${q}`);
        if (o.email && r.users.length === 0) out('no account has that e-mail');
        for (const u of r.users)
          out(
            `${u.id}  ${u.username.padEnd(24)} ${u.role.padEnd(7)} ${u.mfa ? 'mfa' : 'no-mfa'}${u.disabled ? '  DISABLED' : ''}${u.displayName ? `  ${u.displayName}` : ''}`,
          );
      }),
    );
  admin
    .command('delete-user <username>')
    .description(
      'delete an account: sessions end, factors and memberships go, and its key is destroyed (step up first; cannot be undone; asks first, --yes skips)',
    )
    .option('-y, --yes', 'do not ask (for scripts)')
    .action((username: string, o: { yes?: boolean }) =>
      run(async () => {
        const id = await userId(username);
        await confirmDestructive(o, `delete the account ${username} and destroy its key`, username);
        await savedClient().api.deleteUser(id);
        out(`deleted the account ${username}; its sessions ended and its key is destroyed`);
      }),
    );
  admin
    .command('disable <username>')
    .description(
      'disable an account; its sessions end at once (step up first; asks first, --yes skips; `admin enable` undoes it)',
    )
    .option('-y, --yes', 'do not ask (for scripts)')
    .action((username: string, o: { yes?: boolean }) =>
      run(async () => {
        const id = await userId(username);
        await confirmDestructive(
          o,
          `disable ${username} and end all their sessions`,
          username,
          `palisade-chat admin enable ${username}`,
        );
        await savedClient().api.call('POST', `/v1/admin/users/${id}/disable`);
        out(`disabled ${username}; their sessions have ended (\`palisade-chat admin enable ${username}\` undoes it)`);
      }),
    );
  admin
    .command('enable <username>')
    .description('enable a disabled account again; the user logs in afresh (step up first)')
    .action((username: string) =>
      run(async () => {
        await savedClient().api.call('POST', `/v1/admin/users/${await userId(username)}/enable`);
        out(`enabled ${username}; they can log in again`);
      }),
    );
  admin
    .command('grants <username>')
    .description('show role grants of a user')
    .action((username: string) =>
      run(async () => {
        const r = await savedClient().api.call<{
          grants: { id: string; role: string; kind: string; state: string; expiresAt: string | null; reason: string }[];
        }>('GET', `/v1/admin/users/${await userId(username)}/roles`);
        if (r.grants.length === 0)
          out(`${username} has no role grants (their base role is in \`palisade-chat admin users\`)`);
        for (const g of r.grants)
          out(
            `${g.id}  ${g.role.padEnd(20)} ${g.kind.padEnd(9)} ${g.state.padEnd(8)} ${g.expiresAt ?? ''}  ${g.reason}`,
          );
      }),
    );
  admin
    .command('grant <username> <role>')
    .description(
      "grant a standing role (step up first); org_admin and security_admin wait for a second admin's approval",
    )
    .requiredOption('--reason <text>', 'required: why, 3 to 500 characters (kept in the audit trail)')
    .action((username: string, role: string, o: { reason: string }) =>
      run(async () => {
        const r = await savedClient().api.grantRole(await userId(username), role, o.reason);
        if ('pendingApproval' in r) {
          // Nothing is granted yet: say so, and what the second person runs.
          out(
            `${role} for ${username} is NOT granted yet: a second admin who holds role.grant (org_admin) and is independent of you must approve request ${r.pendingApproval} within 24 hours.`,
          );
          out(
            `They run: palisade-chat step-up, then palisade-chat admin approve ${r.pendingApproval}   (palisade-chat admin approvals lists what they may approve)`,
          );
        } else {
          out(`granted ${role} to ${username} (${r.id})`);
        }
      }),
    );
  admin
    .command('reset-factors <username>')
    .description('ask for a factor reset; a second security admin must approve it')
    .requiredOption('--reason <text>', 'required: why (kept in the audit trail)')
    .action((username: string, o: { reason: string }) =>
      run(async () => {
        const { id } = await savedClient().api.call<{ id: string }>('POST', '/v1/approvals', {
          action: 'factor.reset',
          userId: await userId(username),
          reason: o.reason,
        });
        out(id);
        process.stderr.write(
          `asked for a factor reset of ${username}: a second security admin approves it with \`palisade-chat admin approve ${id}\`\n`,
        );
      }),
    );
  admin
    .command('approvals')
    .description('requests waiting for your approval')
    .action(() =>
      run(async () => {
        const r = await savedClient().api.call<{
          approvals: {
            id: string;
            action: string;
            params: Record<string, unknown>;
            reason: string;
            requestedBy: string;
          }[];
        }>('GET', '/v1/approvals');
        if (r.approvals.length === 0) out('no requests wait for your approval');
        for (const a of r.approvals)
          out(`${a.id}  ${describeRequest(a.action, a.params)}  by ${a.requestedBy}: ${a.reason}`);
      }),
    );
  admin
    .command('approve <id>')
    .description(
      "approve and run another person's request: a factor reset, an admin invite or an admin role grant (step up first)",
    )
    .action((id: string) =>
      run(async () => {
        await savedClient().api.approve(id);
        out(`approved ${id}: it has run`);
      }),
    );

  const elev = program
    .command('elevate')
    .description("just-in-time roles: ask for one, list and approve others' requests");
  elev
    .command('request <role>')
    .description('ask for a role for a bounded time')
    .requiredOption('--minutes <n>', 'required: how long (5 to 480)')
    .requiredOption('--reason <text>', 'required: why (kept in the audit trail)')
    .action((role: string, o: { minutes: string; reason: string }) =>
      run(async () => {
        out(
          (
            await savedClient().api.call<{ id: string }>('POST', '/v1/elevations', {
              role,
              minutes: Number(o.minutes),
              reason: o.reason,
            })
          ).id,
        );
      }),
    );
  elev
    .command('pending')
    .description('elevations waiting for approval')
    .action(() =>
      run(async () => {
        const r = await savedClient().api.call<{
          elevations: { id: string; userId: string; role: string; minutes: number; reason: string }[];
        }>('GET', '/v1/elevations');
        if (r.elevations.length === 0) out('no elevations wait for approval');
        for (const e of r.elevations) out(`${e.id}  ${e.role} for ${e.minutes} min by ${e.userId}: ${e.reason}`);
      }),
    );
  elev
    .command('approve <id>')
    .description("approve another person's elevation (step up first)")
    .action((id: string) =>
      run(async () => {
        out(
          `active until ${(await savedClient().api.call<{ expiresAt: string }>('POST', `/v1/elevations/${encodeURIComponent(id)}/approve`)).expiresAt}`,
        );
      }),
    );
}
