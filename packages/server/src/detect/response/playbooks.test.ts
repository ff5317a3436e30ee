import { describe, expect, it } from 'vitest';
import { ConfigSchema, ResponseSection } from '../../config/index.js';
import { DEFAULT_PLAYBOOKS, resolvePlaybooks, stepsFor } from './playbooks.js';
import type { Finding } from '../types.js';

const RULES = [
  'auth.brute_force.account',
  'auth.brute_force.address',
  'auth.credential_stuffing',
  'auth.password_spraying',
  'data.offhours_bulk_read',
  'session.device_mismatch',
  'session.token_replay',
  'privilege.escalation_attempts',
  'privilege.offhours_grant',
  'service_account.misuse',
  'org.mass_deletion',
  'org.mass_membership_change',
  'org.connection_spike',
  'org.new_device_spike',
];

const finding = (ruleId: string, severity: Finding['severity'] = 'high'): Finding => ({
  id: 'f',
  ruleId,
  severity,
  at: 0,
  firstSeenAt: 0,
  subject: { kind: 'account', id: 'u' },
  explanation: '',
  evidence: {},
});

describe('response playbooks', () => {
  it('has a default for every rule of the engine; locks wait for approval by default', () => {
    expect(DEFAULT_PLAYBOOKS.map((p) => p.ruleId).sort()).toEqual([...RULES].sort());
    for (const p of DEFAULT_PLAYBOOKS)
      for (const s of p.steps) if (s.action === 'lock_account') expect(s.requiresApproval, p.ruleId).toBe(true);
    const cfg = ConfigSchema.parse({});
    expect(cfg.response).toMatchObject({ enabled: true, dryRun: false, requireApprovalFor: [] });
  });

  it('config overrides replace a rule, set a minimum severity, and hold action kinds for approval', () => {
    const config = ResponseSection.parse({
      playbooks: {
        'auth.credential_stuffing': { minSeverity: 'critical', steps: [{ action: 'block_address', forSeconds: 60 }] },
      },
      requireApprovalFor: ['revoke_sessions'],
      offHoursApproval: true,
    });
    const pb = resolvePlaybooks(config);
    expect(stepsFor(pb, finding('auth.credential_stuffing', 'high'))).toEqual([]);
    expect(stepsFor(pb, finding('auth.credential_stuffing', 'critical'))).toEqual([
      { action: 'block_address', forSeconds: 60 },
    ]);
    expect(stepsFor(pb, finding('session.token_replay'))[0]).toEqual({
      action: 'revoke_sessions',
      requiresApproval: true,
    });
    expect(
      stepsFor(pb, finding('data.offhours_bulk_read')).find((s) => s.action === 'revoke_sessions')?.requiresApproval,
    ).toBe(true);
    expect(stepsFor(pb, finding('no.such_rule'))).toEqual([]);
    expect(() => ResponseSection.parse({ playbooks: { x: { steps: [] } } })).toThrow();
    expect(() => ResponseSection.parse({ requireApprovalFor: ['wipe_everything'] })).toThrow();
  });
});

describe('built-in playbooks after the security review', () => {
  const actions = (ruleId: string) => DEFAULT_PLAYBOOKS.find((p) => p.ruleId === ruleId)?.steps.map((s) => s.action);
  it('a password attack on an account acts on its source, never on the account anyone can name', () => {
    expect(actions('auth.brute_force.account')).toEqual(['block_address']);
    expect(actions('auth.password_spraying')).toEqual(['block_address']);
  });
  it('one address never gets its whole network blocked; organisation-wide findings throttle no one', () => {
    expect(DEFAULT_PLAYBOOKS.flatMap((p) => p.steps.map((s) => s.action))).not.toContain('block_network');
    expect(actions('org.connection_spike')).toEqual([]);
    expect(actions('org.new_device_spike')).toEqual([]);
  });
  it('every containment of a person or a bot ends by itself or waits for approval', () => {
    for (const p of DEFAULT_PLAYBOOKS)
      for (const s of p.steps)
        if (
          ['lock_account', 'suspend_service_account', 'require_step_up', 'block_address', 'throttle'].includes(s.action)
        )
          expect({ rule: p.ruleId, action: s.action, ends: s.forSeconds !== undefined }).toEqual({
            rule: p.ruleId,
            action: s.action,
            ends: true,
          });
  });
});
