import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock, securityCategory, silentLogger, type SecurityEvent, type SecuritySignal } from '../core/index.js';
import { LocalKms, randomKey } from '../crypto/index.js';
import { DetectionEngine, type DetectEngineConfig, type DetectInput, type Finding } from '../detect/index.js';
import { EnvelopeSealer } from '../keys/index.js';
import { openStore, type Store } from '../store/index.js';

/** A migrated SQLite store in a temporary directory, with a sealer. */
export async function detectStore(clock = new FakeClock()) {
  const store: Store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'palisade-detect-')) });
  await store.migrate();
  const kms = new LocalKms(join(mkdtempSync(join(tmpdir(), 'palisade-keys-')), 'keyring.json'), randomKey(32));
  const sealer = new EnvelopeSealer(store.db, kms, clock);
  await sealer.prepareServerScopes();
  return { store, sealer, clock };
}

/** An engine over a fresh store; `feed` ingests and collects findings. */
export async function engineFixture(config: Partial<DetectEngineConfig> = {}, start = Date.UTC(2026, 0, 5, 8)) {
  const clock = new FakeClock(start);
  const { store, sealer } = await detectStore(clock);
  const engine = new DetectionEngine({
    db: store.db,
    sealer,
    clock,
    log: silentLogger,
    config: { learningDays: 14, ...config },
  });
  await engine.load();
  const findings: Finding[] = [];
  const feed = (input: DetectInput): Finding[] => {
    const at = input.kind === 'event' ? input.event.at : input.signal.at;
    if (at > clock.now()) clock.advance(at - clock.now());
    const out = engine.ingest(input);
    findings.push(...out);
    return out;
  };
  return { store, sealer, clock, engine, findings, feed };
}

let seq = 0;
/** An audit record as a SecurityEvent (its seq increases across calls). */
export function ev(
  action: string,
  at: number,
  f: Partial<Omit<SecurityEvent, 'action' | 'at' | 'seq' | 'category'>> = {},
): DetectInput {
  seq += 1;
  return {
    kind: 'event',
    event: {
      seq,
      at,
      action,
      category: securityCategory(action),
      actorId: f.actorId ?? null,
      target: f.target ?? null,
      address: f.address ?? null,
      outcome: f.outcome ?? (action.endsWith('failed') || action.endsWith('refused') ? 'failure' : 'success'),
      details: f.details ?? {},
      ...(f.drill !== undefined ? { drill: f.drill } : {}),
    },
  };
}

/** A signal as input. */
export const sig = (signal: SecuritySignal): DetectInput => ({ kind: 'signal', signal });

/** A deterministic pseudo-random generator (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
