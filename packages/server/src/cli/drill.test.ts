import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import type { Containment, Finding } from '../server/index.js';
import type { SecurityStatus } from '../server/index.js';
import { drillCommand } from './drill.js';
import {
  inNetwork,
  reportMarkdown,
  stepResult,
  writeDrillReport,
  type DrillReport,
  type StepRun,
} from './drill-report.js';
import { formatSecurityStatus, securityCommands } from './security.js';

const T0 = Date.UTC(2026, 11, 1, 3, 10);

const run = (p: Partial<StepRun> = {}): StepRun => ({
  scenario: 'brute-force',
  description: '300 wrong passwords for drill-x-victim from 203.0.113.7',
  startedAt: T0,
  endedAt: T0 + 3000,
  subjects: ['203.0.113.7', 'u-victim'],
  requests: 300,
  statuses: { '401': 12, '429': 288 },
  notes: [],
  ...p,
});
const finding = (p: Partial<Finding> & { id: string; at: number }): Finding => ({
  ruleId: 'brute_force.address',
  severity: 'high',
  firstSeenAt: T0,
  subject: { kind: 'address', id: '203.0.113.7' },
  explanation: '300 failed logins in 3 s from 203.0.113.7',
  evidence: {},
  drill: 'drill_x',
  ...p,
});
const contained = (p: Partial<Containment> & { id: string; findingId: string }): Containment => ({
  action: 'block_address',
  subject: { kind: 'address', id: '203.0.113.7' },
  state: 'active',
  createdAt: T0,
  appliedAt: null,
  expiresAt: null,
  undoneAt: null,
  undoneBy: null,
  ...p,
});

describe('a drill step result', () => {
  it('detected by a finding about its address or account after its start; MTTD and MTTR from the start', () => {
    const evidence = {
      findings: [
        finding({ id: 'late', at: T0 + 2400 }),
        finding({
          id: 'first',
          at: T0 + 1200,
          subject: { kind: 'account', id: 'u-victim' },
          ruleId: 'brute_force.account',
        }),
        finding({ id: 'other', at: T0 + 100, subject: { kind: 'address', id: '198.51.100.30' } }),
        finding({ id: 'before', at: T0 - 5000 }),
      ],
      containments: [
        contained({ id: 'c1', findingId: 'late', appliedAt: T0 + 2500 }),
        contained({ id: 'c2', findingId: 'first', appliedAt: T0 + 1900, action: 'lock_account' }),
        contained({ id: 'c3', findingId: 'other', appliedAt: T0 + 200 }),
      ],
      alerts: [],
    };
    const r = stepResult(run(), evidence);
    expect(r.detected).toBe(true);
    expect(r.findings.map((f) => f.id)).toEqual(['first', 'late']);
    expect(r.rules).toEqual(['brute_force.account', 'brute_force.address']);
    expect(r.mttdMs).toBe(1200);
    expect(r.mttrMs).toBe(1900);
    expect(r.actions.map((a) => a.action).sort()).toEqual(['block_address', 'lock_account']);
  });

  it('a network finding counts for the step whose address it holds, unless it names another address', () => {
    const net = { kind: 'network' as const, id: '203.0.113.0/24' };
    const ev = (f: Finding) => ({ findings: [f], containments: [], alerts: [] });
    expect(stepResult(run(), ev(finding({ id: 'n', at: T0 + 5, subject: net, address: undefined }))).detected).toBe(
      true,
    );
    expect(
      stepResult(run(), ev(finding({ id: 'n', at: T0 + 5, subject: net, address: '203.0.113.99' }))).detected,
    ).toBe(false);
    const elsewhere = { kind: 'network' as const, id: '198.51.100.0/24' };
    expect(
      stepResult(run(), ev(finding({ id: 'n', at: T0 + 5, subject: elsewhere, address: undefined }))).detected,
    ).toBe(false);
    expect(inNetwork('203.0.113.7', '203.0.113.0/24')).toBe(true);
    expect(inNetwork('203.0.114.7', '203.0.113.0/23')).toBe(false);
    expect(inNetwork('203.0.112.7', '203.0.112.0/23')).toBe(true);
    expect(inNetwork('10.0.0.1', '0.0.0.0/0')).toBe(true);
    expect(inNetwork('2001:db8::1', '203.0.113.0/24')).toBe(false);
    expect(inNetwork('203.0.113.7', '203.0.113.0/33')).toBe(false);
  });

  it('not detected without a matching finding; notes are kept', () => {
    const r = stepResult(run({ notes: ['baseline not seeded (503)'] }), {
      findings: [finding({ id: 'x', at: T0 + 10, subject: { kind: 'address', id: '192.0.2.1' } })],
      containments: [],
      alerts: [],
    });
    expect(r).toMatchObject({
      detected: false,
      mttdMs: null,
      mttrMs: null,
      actions: [],
      notes: ['baseline not seeded (503)'],
    });
  });
});

describe('the drill report files', () => {
  const report: DrillReport = {
    drillId: 'drill_abc',
    scenario: 'all',
    server: 'https://127.0.0.1:8443',
    startedAt: new Date(T0).toISOString(),
    finishedAt: new Date(T0 + 20_000).toISOString(),
    steps: [
      stepResult(run(), {
        findings: [finding({ id: 'f', at: T0 + 1500 })],
        containments: [contained({ id: 'c', findingId: 'f', appliedAt: T0 + 1700 })],
        alerts: [],
      }),
      stepResult(run({ scenario: 'spraying', subjects: ['198.51.100.30'], description: 'a | pipe' }), {
        findings: [],
        containments: [],
        alerts: [],
      }),
    ],
    undone: { containments: 1, accounts: ['drill-x-victim'], notes: [] },
    allDetected: false,
  };

  it('JSON round-trips; Markdown has the table, the misses and what was undone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-drill-report-'));
    const files = writeDrillReport(join(dir, 'out'), report);
    expect(JSON.parse(readFileSync(files.json, 'utf8'))).toEqual(report);
    const md = readFileSync(files.markdown, 'utf8');
    expect(md).toBe(reportMarkdown(report));
    expect(md).toContain('Some steps were NOT detected.');
    expect(md).toContain(
      '| brute-force | yes | brute_force.address | 1500 ms | 1700 ms | block_address address:203.0.113.7 (active) |',
    );
    expect(md).toContain('| spraying | **no** | - | - | - | - |');
    expect(md).toContain('a | pipe (300 requests, answered 12x 401, 288x 429');
    expect(md).toContain('synthetic accounts disabled: drill-x-victim');
    expect(md).toContain('containments undone: 1');
  });
});

describe('security status output', () => {
  it('prints alerts, findings, per-rule medians, containments and the chain', () => {
    const s: SecurityStatus = {
      at: T0,
      openAlerts: [
        {
          id: 'a',
          groupKey: 'g',
          ruleId: 'spraying',
          severity: 'critical',
          title: 'Password spraying from 198.51.100.30',
          explanation: 'e',
          state: 'open',
          firstAt: T0,
          lastAt: T0,
          count: 3,
          acknowledgedBy: null,
          acknowledgedAt: null,
          resolvedBy: null,
          resolvedAt: null,
        },
      ],
      recentFindings: [finding({ id: 'f', at: T0 })],
      rules: [
        {
          ruleId: 'brute_force.address',
          findings: 4,
          contained: 3,
          mttd: { count: 4, meanMs: 1500, medianMs: 1400, p95Ms: 2000, maxMs: 2000 },
          mttr: null,
        },
      ],
      containmentsInForce: [contained({ id: 'c', findingId: 'f', appliedAt: T0, expiresAt: T0 + 3_600_000 })],
      chain: { ok: false, records: 1234, lastCheckpointAt: null },
    };
    const text = formatSecurityStatus(s);
    expect(text).toContain('audit chain: BROKEN');
    expect(text).toContain('1234 records, last checkpoint never');
    expect(text).toContain('[critical] Password spraying from 198.51.100.30 (open, x3');
    expect(text).toContain('brute_force.address: 4 findings, MTTD 1400 ms (n=4), MTTR -, 3 contained');
    expect(text).toContain('block_address address:203.0.113.7 (active, until 2026-12-01T04:10:00.000Z)');
    expect(text).toContain('300 failed logins in 3 s from 203.0.113.7 [drill]');
  });
});

function help(cmd: ReturnType<typeof drillCommand>, args: string[]): string {
  let out = '';
  cmd.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  for (const c of cmd.commands)
    c.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  try {
    cmd.parse(args, { from: 'user' });
  } catch (e) {
    expect(e).toBeInstanceOf(CommanderError);
  }
  return out;
}

describe('--help', () => {
  it('drill names every scenario and its options', () => {
    const out = help(drillCommand(), ['--help']);
    for (const s of [
      'brute-force',
      'stuffing',
      'spraying',
      'offhours-export',
      'stolen-token',
      'service-account-misuse',
      'all',
    ])
      expect(out).toContain(s);
    for (const o of ['--out <dir>', '--timeout-seconds', '--config', '--ca']) expect(out).toContain(o);
  });
  it('security status offers --json', () => {
    expect(help(securityCommands(), ['status', '--help'])).toContain('--json');
  });
});
