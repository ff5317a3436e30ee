import { Command } from 'commander';
import { adminSocketPath } from '../config/index.js';
import type { Durations, SecurityStatus } from '../server/index.js';
import { adminCall } from './drill-http.js';
import { adminSocketUnreachable, fail, loadOrExit } from './load.js';

const when = (ms: number | null) => (ms === null ? 'never' : new Date(ms).toISOString());
const dur = (d: Durations | null) =>
  d === null
    ? '-'
    : `${d.medianMs < 10_000 ? `${d.medianMs} ms` : `${(d.medianMs / 1000).toFixed(1)} s`} (n=${d.count})`;

/** The status as text for a person: alerts, findings, per-rule MTTD/MTTR, containments, chain. */
export function formatSecurityStatus(s: SecurityStatus): string {
  const out: string[] = [`security status at ${when(s.at)}`, ''];
  out.push(
    `audit chain: ${s.chain.ok ? 'intact' : 'BROKEN (run `palisade audit verify`)'}, ${s.chain.records} records, last checkpoint ${when(s.chain.lastCheckpointAt)}`,
    '',
  );
  out.push(`open alerts (${s.openAlerts.length}):`);
  for (const a of s.openAlerts)
    out.push(
      `  [${a.severity}] ${a.title} (${a.state}, x${a.count}, last ${when(a.lastAt)})${a.drill ? ' [drill]' : ''}`,
    );
  out.push('', `recent findings (${s.recentFindings.length}, last 24 h):`);
  for (const f of s.recentFindings)
    out.push(`  ${when(f.at)} ${f.ruleId} [${f.severity}] ${f.explanation}${f.drill ? ' [drill]' : ''}`);
  out.push('', 'median time to detect / contain per rule, last 30 days (drills excluded):');
  if (s.rules.length === 0) out.push('  no findings');
  for (const r of s.rules)
    out.push(
      `  ${r.ruleId}: ${r.findings} findings, MTTD ${dur(r.mttd)}, MTTR ${dur(r.mttr)}, ${r.contained} contained`,
    );
  out.push('', `containments in force (${s.containmentsInForce.length}):`);
  for (const c of s.containmentsInForce)
    out.push(
      `  ${c.id} ${c.action} ${c.subject.kind}:${c.subject.id} (${c.state}, until ${c.expiresAt === null ? 'undone' : when(c.expiresAt)})`,
    );
  return `${out.join('\n')}\n`;
}

/** `palisade security status`: through GET /security/status on the admin socket. */
export function securityCommands(): Command {
  const security = new Command('security').description('detection, response and audit state of a running server');
  security
    .command('status')
    .description(
      'open alerts, recent findings, MTTD and MTTR per rule over 30 days, containments in force, audit chain',
    )
    .option('-c, --config <file>', 'configuration file (YAML)')
    .option('--json', 'print the status as JSON')
    .action(async (o: { config?: string; json?: boolean }) => {
      const path = adminSocketPath(loadOrExit(o.config));
      let r;
      try {
        r = await adminCall(path, 'GET', '/security/status');
      } catch (e) {
        fail(adminSocketUnreachable(path, (e as NodeJS.ErrnoException).code ?? 'error', o.config));
      }
      if (r.status !== 200) fail(`security status failed (${r.status}): ${String(r.json.message)}`);
      const status = r.json as unknown as SecurityStatus;
      process.stdout.write(o.json ? `${JSON.stringify(status, null, 2)}\n` : formatSecurityStatus(status));
    });
  for (const decision of ['undo', 'approve'] as const)
    security
      .command(`${decision} <containment-id>`)
      .description(
        decision === 'undo'
          ? 'lift a containment (unblock, unlock, resume, lift a throttle): the ids are in `security status`'
          : 'run a containment that waits for approval',
      )
      .option('-c, --config <file>', 'configuration file (YAML)')
      .action(async (id: string, o: { config?: string }) => {
        const path = adminSocketPath(loadOrExit(o.config));
        let r;
        try {
          r = await adminCall(path, 'POST', `/security/containments/${encodeURIComponent(id)}/${decision}`);
        } catch (e) {
          fail(adminSocketUnreachable(path, (e as NodeJS.ErrnoException).code ?? 'error', o.config));
        }
        if (r.status !== 200) fail(`${decision} failed (${r.status}): ${String(r.json.message)}`);
        const c = r.json as { id: string; action: string; state: string };
        process.stdout.write(`${c.id}: ${c.action} is now ${c.state}\n`);
      });
  return security;
}
