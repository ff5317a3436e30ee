import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Containment, Finding } from '../detect/index.js';
import type { SecurityFilter, SecurityQueries } from '../server/drills.js';
import { auditRecords } from '../test-support/audit.js';
import { startLiveServer, type LiveServer } from '../test-support/live-server.js';
import { runDrill } from './drill.js';

/**
 * A stand-in for detect/ (tests only): an address with at least 10 failed logins is a finding, contained
 * 50 ms later. It sees only what the audit log holds, so the off-hours, stolen-token and misuse steps
 * stay undetected here: the real engine is the lead's to wire (test/e2e/drill.test.ts).
 */
class AuditBackedFake implements SecurityQueries {
  undone = new Set<string>();
  undoCalls: string[] = [];
  constructor(private readonly s: LiveServer) {}
  async findings(f: SecurityFilter): Promise<Finding[]> {
    const core = this.s.running.core;
    const failed = (await auditRecords(core.store.db, core.sealer, { action: 'login.failed' })).filter(
      (r) => r.address !== null && r.at >= (f.since ?? 0),
    );
    const byAddress = new Map<string, number[]>();
    for (const r of failed) byAddress.set(r.address as string, [...(byAddress.get(r.address as string) ?? []), r.at]);
    return [...byAddress.entries()]
      .filter(([, at]) => at.length >= 10)
      .map(([address, at]) => ({
        id: `f-${address}`,
        ruleId: 'fake.failed_logins',
        severity: 'high',
        at: Math.max(...at),
        firstSeenAt: Math.min(...at),
        subject: { kind: 'address', id: address },
        address,
        explanation: `${at.length} failed logins from ${address}`,
        evidence: { count: at.length },
        ...(f.drill ? { drill: f.drill } : {}),
      }));
  }
  async containments(f: SecurityFilter): Promise<Containment[]> {
    return (await this.findings(f)).map((x) => ({
      id: `c-${x.id}`,
      findingId: x.id,
      action: 'block_address',
      subject: x.subject,
      state: this.undone.has(x.id) ? 'undone' : 'active',
      createdAt: x.at,
      appliedAt: x.at + 50,
      expiresAt: null,
      undoneAt: null,
      undoneBy: null,
    }));
  }
  alerts = () => Promise.resolve([]);
  async undoDrill(drillId: string): Promise<number> {
    this.undoCalls.push(drillId);
    const fs = await this.findings({ drill: drillId });
    for (const f of fs) this.undone.add(f.id);
    return fs.length;
  }
  chainState = () => Promise.resolve({ ok: true, records: 1, lastCheckpointAt: null });
  seedBaseline = () => Promise.resolve();
  decideContainment = () => Promise.reject(new Error('not in this stand-in'));
}

describe('runDrill against a running server, with a stand-in for detection', () => {
  let s: LiveServer;
  let fake: AuditBackedFake;
  beforeAll(async () => {
    s = await startLiveServer();
    fake = new AuditBackedFake(s);
    s.running.core.security = fake;
  });
  afterAll(() => s.stop());

  it('attacks, polls the evidence, matches findings to steps, undoes and cleans up', async () => {
    const lines: string[] = [];
    const report = await runDrill({
      scenario: 'all',
      socketPath: s.running.core.adminSocketPath,
      target: { baseUrl: s.baseUrl, ca: s.ca },
      timeoutMs: 1_500,
      pollMs: 100,
      progress: (l) => lines.push(l),
    });
    const by = Object.fromEntries(report.steps.map((x) => [x.scenario, x]));
    for (const name of ['brute-force', 'stuffing', 'spraying']) {
      expect(by[name]).toMatchObject({ detected: true, rules: ['fake.failed_logins'] });
      expect(by[name]?.actions).toEqual([expect.objectContaining({ action: 'block_address' })]);
      expect(by[name]?.mttrMs).toBeGreaterThanOrEqual(by[name]?.mttdMs as number);
    }
    expect(by['brute-force']?.findings[0]?.explanation).toContain('203.0.113.7');
    expect(by.stuffing?.findings[0]?.explanation).toContain('198.51.100.20');
    expect(by.spraying?.findings[0]?.explanation).toContain('192.0.2.30');
    for (const name of ['offhours-export', 'stolen-token', 'service-account-misuse'])
      expect(by[name]?.detected).toBe(false);
    expect(report.allDetected).toBe(false);
    expect(fake.undoCalls).toEqual([report.drillId]);
    expect(report.undone.containments).toBe(3);
    expect(report.undone.accounts).toHaveLength(12);
    expect(s.running.core.drills.get(report.drillId)?.finishedAt).not.toBeNull();
    expect(lines[0]).toContain(report.drillId);
    // The synthetic accounts can no longer log in; the drill's audit trail is there.
    const core = s.running.core;
    expect(
      await auditRecords(core.store.db, core.sealer, { action: 'drill.started', target: report.drillId }),
    ).toHaveLength(1);
    expect(
      await auditRecords(core.store.db, core.sealer, { action: 'drill.undone', target: report.drillId }),
    ).toHaveLength(1);
  });
});
