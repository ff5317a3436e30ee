import { AppError, type Clock, type DrillCheck } from '../core/index.js';
import { constantTimeEqual, randomId, randomToken, sha256Hex } from '../crypto/index.js';
import type { Alert, Containment, Finding } from '../detect/index.js';

/** The scripted attacks `palisade drill` knows. */
export const DRILL_SCENARIOS = [
  'brute-force',
  'stuffing',
  'spraying',
  'offhours-export',
  'stolen-token',
  'service-account-misuse',
] as const;

/** One drill scenario. */
export type DrillScenario = (typeof DRILL_SCENARIOS)[number];

/** True when `s` names a drill scenario. */
export function isDrillScenario(s: unknown): s is DrillScenario {
  return typeof s === 'string' && (DRILL_SCENARIOS as readonly string[]).includes(s);
}

/** Shortest and longest drill lifetime. */
export const DRILL_TTL_MS = { min: 60_000, max: 24 * 3_600_000 } as const;
/** Most drills running at once. */
export const MAX_LIVE_DRILLS = 16;

/** A drill as the registry keeps it (the token itself is never kept, only its SHA-256). */
export interface DrillInfo {
  id: string;
  scenario: DrillScenario | 'all';
  createdAt: number;
  expiresAt: number;
  finishedAt: number | null;
}

interface DrillEntry extends DrillInfo {
  tokenSha256: string;
}

/**
 * The live drills, in memory (a restart ends every drill: its traffic is then ordinary traffic).
 * SECURITY: tokens are random (256 bits), handed out once by `create`, kept only as a SHA-256, and
 * compared in constant time; an expired or finished drill's token is worth nothing.
 */
export class DrillRegistry implements DrillCheck {
  private readonly drills = new Map<string, DrillEntry>();

  constructor(private readonly clock: Clock) {}

  /** The registry's clock reading (UTC ms). */
  now(): number {
    return this.clock.now();
  }

  /** Starts a drill; the token goes to the caller only. */
  create(input: { scenario: DrillScenario | 'all'; ttlMs: number }): { id: string; token: string; expiresAt: number } {
    if (input.scenario !== 'all' && !isDrillScenario(input.scenario))
      throw new AppError('bad_request', `unknown drill scenario; one of ${DRILL_SCENARIOS.join(', ')} or all`);
    if (!Number.isInteger(input.ttlMs) || input.ttlMs < DRILL_TTL_MS.min || input.ttlMs > DRILL_TTL_MS.max)
      throw new AppError('bad_request', `ttlMs must be a whole number from ${DRILL_TTL_MS.min} to ${DRILL_TTL_MS.max}`);
    this.prune();
    if (this.live().length >= MAX_LIVE_DRILLS) throw new AppError('bad_request', 'too many drills are running');
    const now = this.clock.now();
    const id = `drill_${randomId()}`;
    const token = randomToken(32);
    const expiresAt = now + input.ttlMs;
    this.drills.set(id, {
      id,
      scenario: input.scenario,
      createdAt: now,
      expiresAt,
      finishedAt: null,
      tokenSha256: sha256Hex(token),
    });
    return { id, token, expiresAt };
  }

  /** The id of the live drill whose token this is; undefined for any other string. */
  check(token: string): string | undefined {
    if (typeof token !== 'string' || token.length === 0 || token.length > 256) return undefined;
    const digest = sha256Hex(token);
    const now = this.clock.now();
    let found: string | undefined;
    // Every live drill is compared (no early exit), each in constant time.
    for (const d of this.drills.values())
      if (constantTimeEqual(digest, d.tokenSha256) && d.finishedAt === null && now < d.expiresAt) found = d.id;
    return found;
  }

  /** Ends a drill: its token stops marking traffic; its record stays for evidence. False when unknown. */
  finish(id: string): boolean {
    const d = this.drills.get(id);
    if (!d) return false;
    d.finishedAt ??= this.clock.now();
    return true;
  }

  /** A drill's public facts (no token), or undefined. */
  get(id: string): DrillInfo | undefined {
    const d = this.drills.get(id);
    if (!d) return undefined;
    const { tokenSha256: _omit, ...info } = d;
    return info;
  }

  /** Drills neither finished nor expired. */
  live(): DrillInfo[] {
    const now = this.clock.now();
    return [...this.drills.keys()]
      .map((id) => this.get(id) as DrillInfo)
      .filter((d) => d.finishedAt === null && now < d.expiresAt);
  }

  /** Forgets drills that ended more than a day ago (their evidence stays in detect's store). */
  private prune(): void {
    const cutoff = this.clock.now() - 24 * 3_600_000;
    for (const [id, d] of this.drills) if ((d.finishedAt ?? d.expiresAt) < cutoff) this.drills.delete(id);
  }
}

/** A filter of the security queries: one drill's records, and/or records since a time (UTC ms). */
export interface SecurityFilter {
  drill?: string;
  since?: number;
}

/**
 * The PORT the drill endpoints and `security status` read detection through. The lead wires it to
 * detect/ (engine, response, alerts) and audit/ (chain) in server/compose.ts.
 */
export interface SecurityQueries {
  findings(filter: SecurityFilter): Promise<Finding[]>;
  containments(filter: SecurityFilter): Promise<Containment[]>;
  alerts(filter: SecurityFilter): Promise<Alert[]>;
  /** Undoes every containment a drill's findings caused; returns how many were undone. */
  undoDrill(drillId: string, actor: string): Promise<number>;
  /** The audit hash chain: verified, its length, the last signed checkpoint. */
  chainState(): Promise<{ ok: boolean; records: number; lastCheckpointAt: number | null }>;
  /** Gives a (synthetic drill) account a learned baseline, so off-hours rules can judge it at once. */
  seedBaseline(userId: string, profile: 'daytime'): Promise<void>;
  /** The operator lifts a containment (`palisade security undo`), or runs one held for approval. */
  decideContainment(id: string, decision: 'undo' | 'approve', actor: string): Promise<Containment>;
}
