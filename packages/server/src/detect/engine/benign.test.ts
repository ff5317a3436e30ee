import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { engineFixture } from '../../test-support/detect.js';
import { atOf, benignDays } from '../../test-support/detect-workload.js';

const USERS = 320;
const WEEKS = 7;
const MONDAY = Date.UTC(2026, 0, 5);

describe('benign workload (false positives)', () => {
  let summary = '';
  afterAll(() => {
    const dir = join(process.cwd(), 'test-output');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'detect-false-positives.txt'), summary);
  });

  it(`fires at most 5 findings per 10,000 user-days on ${USERS} users over ${WEEKS} weeks`, async () => {
    const { engine, clock, findings, feed, store } = await engineFixture({}, MONDAY);
    let events = 0;
    let ns = 0n;
    for (const day of benignDays({ users: USERS, weeks: WEEKS, start: MONDAY, seed: 12 })) {
      for (const input of day) {
        const at = atOf(input);
        if (at > clock.now()) clock.advance(at - clock.now());
        const t0 = process.hrtime.bigint();
        feed(input);
        ns += process.hrtime.bigint() - t0;
        events++;
      }
    }
    await engine.save();
    await store.close();
    const userDays = USERS * WEEKS * 7;
    const per10k = (findings.length * 10_000) / userDays;
    const byRule: Record<string, number> = {};
    for (const f of findings) byRule[f.ruleId] = (byRule[f.ruleId] ?? 0) + 1;
    summary =
      `benign workload: ${USERS} users, ${WEEKS} weeks, ${userDays} user-days, ${events} inputs\n` +
      `findings: ${findings.length} (${per10k.toFixed(2)} per 10,000 user-days) ${JSON.stringify(byRule)}\n` +
      `ingest cost: ${(Number(ns) / events / 1000).toFixed(2)} µs per input (mean)\n` +
      findings.map((f) => `  ${f.ruleId} ${f.subject.kind}:${f.subject.id} ${f.explanation}`).join('\n');
    console.log(summary);
    expect(events).toBeGreaterThan(100_000);
    expect(per10k).toBeLessThanOrEqual(5);
  }, 240_000);
});
