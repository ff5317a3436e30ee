import type { ResponseConfig } from '../../config/index.js';
import { SEVERITIES, type Finding, type Playbook, type ResponseActionKind, type ResponseStep } from '../types.js';

const MIN = 60;
const HOUR = 3600;
const DAY = 86_400;

/**
 * The built-in playbooks, one per rule id of the engine. Data: the `response.playbooks` config section
 * replaces any of them. Destructive steps that hit one person hard (a lock) wait for approval.
 */
export const DEFAULT_PLAYBOOKS: readonly Playbook[] = [
  // Security review: the account is the victim. Nothing is done to it (anyone can name it); the
  // source is blocked, and auth's per-(account, network) delay already slows the guessing.
  { ruleId: 'auth.brute_force.account', steps: [{ action: 'block_address', forSeconds: 15 * MIN }] },
  {
    ruleId: 'auth.brute_force.address',
    steps: [
      { action: 'block_address', forSeconds: 15 * MIN },
      { action: 'throttle', forSeconds: 15 * MIN },
    ],
  },
  // The address, not its /24: one address must not get a shared network (an office NAT) blocked.
  { ruleId: 'auth.credential_stuffing', steps: [{ action: 'block_address', forSeconds: HOUR }] },
  { ruleId: 'auth.password_spraying', steps: [{ action: 'block_address', forSeconds: HOUR }] },
  {
    ruleId: 'data.offhours_bulk_read',
    steps: [{ action: 'require_step_up', forSeconds: DAY }, { action: 'revoke_sessions' }],
  },
  {
    ruleId: 'session.device_mismatch',
    steps: [{ action: 'revoke_sessions' }, { action: 'require_step_up', forSeconds: DAY }],
  },
  {
    ruleId: 'session.token_replay',
    steps: [{ action: 'revoke_sessions' }, { action: 'require_step_up', forSeconds: DAY }],
  },
  {
    ruleId: 'privilege.escalation_attempts',
    steps: [
      { action: 'require_step_up', forSeconds: DAY },
      { action: 'lock_account', forSeconds: DAY, requiresApproval: true },
    ],
  },
  { ruleId: 'privilege.offhours_grant', steps: [{ action: 'require_step_up', forSeconds: DAY }] },
  // A misused bot is a stolen token until someone looks: suspended for an hour (a security admin can resume it).
  { ruleId: 'service_account.misuse', steps: [{ action: 'suspend_service_account', forSeconds: HOUR }] },
  { ruleId: 'org.mass_deletion', steps: [{ action: 'lock_account', forSeconds: DAY, requiresApproval: true }] },
  { ruleId: 'org.mass_membership_change', steps: [{ action: 'require_step_up', forSeconds: DAY }] },
  // Organisation-wide findings name no attacker: an alert, and no one is throttled by chance.
  { ruleId: 'org.connection_spike', steps: [] },
  { ruleId: 'org.new_device_spike', steps: [] },
];

/** Playbooks indexed by rule id: the built-in ones with the config's overrides and approval rules applied. */
export function resolvePlaybooks(config: ResponseConfig): Map<string, Playbook> {
  const out = new Map<string, Playbook>(DEFAULT_PLAYBOOKS.map((p) => [p.ruleId, p]));
  if (config.offHoursApproval) {
    const p = out.get('data.offhours_bulk_read')!;
    out.set(p.ruleId, {
      ...p,
      steps: p.steps.map((s) => (s.action === 'revoke_sessions' ? { ...s, requiresApproval: true } : s)),
    });
  }
  for (const [ruleId, o] of Object.entries(config.playbooks))
    out.set(ruleId, { ruleId, ...(o.minSeverity ? { minSeverity: o.minSeverity } : {}), steps: o.steps });
  const held = new Set<ResponseActionKind>(config.requireApprovalFor);
  if (held.size > 0)
    for (const [id, p] of out)
      out.set(id, { ...p, steps: p.steps.map((s) => (held.has(s.action) ? { ...s, requiresApproval: true } : s)) });
  return out;
}

/** The steps to run for a finding (none when no playbook matches or its severity is below the minimum). */
export function stepsFor(playbooks: Map<string, Playbook>, finding: Finding): ResponseStep[] {
  const p = playbooks.get(finding.ruleId);
  if (!p) return [];
  if (p.minSeverity && SEVERITIES.indexOf(finding.severity) < SEVERITIES.indexOf(p.minSeverity)) return [];
  return p.steps;
}
