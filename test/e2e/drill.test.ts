/**
 * `palisade drill all` against a real `palisade serve` process: every scenario's attack over HTTPS,
 * detection within 5 s, a containment within 1 s of the finding, then undo and clean-up.
 */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { palisade } from '../support/cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

interface Report {
  drillId: string;
  allDetected: boolean;
  steps: {
    scenario: string;
    detected: boolean;
    requests: number;
    mttdMs: number | null;
    mttrMs: number | null;
    actions: unknown[];
    notes: string[];
  }[];
  undone: { containments: number | null; accounts: string[]; notes: string[] };
}

const SCENARIOS = ['brute-force', 'stuffing', 'spraying', 'offhours-export', 'stolen-token', 'service-account-misuse'];

function readReport(dir: string): { json: Report; md: string } {
  const files = readdirSync(dir);
  const json = files.find((f) => f.endsWith('.json')) as string;
  return {
    json: JSON.parse(readFileSync(join(dir, json), 'utf8')) as Report,
    md: readFileSync(join(dir, json.replace(/\.json$/, '.md')), 'utf8'),
  };
}

describe('palisade drill', () => {
  let server: ServerProcess;
  let report: Report;
  let md: string;
  let code: number | null;
  beforeAll(async () => {
    server = await startServerProcess();
    const out = mkdtempSync(join(tmpdir(), 'palisade-drill-out-'));
    const r = await palisade(['drill', 'all', '--out', out, '--timeout-seconds', '10'], {
      PALISADE_DATA_DIR: server.dataDir,
    });
    code = r.code;
    ({ json: report, md } = readReport(out));
  }, 300_000);
  afterAll(() => server?.stop());

  it('attacks in every scenario over HTTPS, then disables the synthetic accounts', () => {
    expect(report.steps.map((s) => s.scenario).sort()).toEqual([...SCENARIOS].sort());
    for (const s of report.steps) {
      const problems = s.notes.filter((n) => !n.startsWith('baseline not seeded'));
      expect({ scenario: s.scenario, problems }).toEqual({ scenario: s.scenario, problems: [] });
      expect(s.requests).toBeGreaterThan(0);
    }
    // victim, 5 stuffed, 3 sprayed, reader, owner, and the service account
    expect(report.undone.accounts).toHaveLength(12);
    expect(md).toContain(`# Drill ${report.drillId} (all)`);
  });

  it('detects every step within 5 s and contains it within 1 s of the finding', () => {
    for (const s of report.steps) {
      expect({ scenario: s.scenario, detected: s.detected }).toEqual({ scenario: s.scenario, detected: true });
      expect(s.mttdMs).toBeLessThanOrEqual(5_000);
      expect(s.actions.length).toBeGreaterThan(0);
      expect((s.mttrMs as number) - (s.mttdMs as number)).toBeLessThanOrEqual(1_000);
    }
    expect(report.allDetected).toBe(true);
    expect(report.undone.containments).toBeGreaterThan(0);
    expect(code).toBe(0);
  });

  it('security status answers after the drill', async () => {
    const r = await palisade(['security', 'status', '--json'], { PALISADE_DATA_DIR: server.dataDir });
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out) as { chain: { ok: boolean; records: number } };
    expect(s.chain.ok).toBe(true);
    expect(s.chain.records).toBeGreaterThan(0);
  });
});
