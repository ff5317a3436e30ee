import type { AuthDeps } from './deps.js';
import { auditAad } from '../keys/index.js';
import { addressPrefix } from '../limits/index.js';

/** Risk policy as data: weights per signal and the score thresholds for each decision. */
export const RISK_POLICY = {
  weights: {
    new_device: 20,
    new_network: 20,
    unusual_hour: 15,
    recent_failures: 25,
    velocity: 25,
    device_proof_failures: 30,
    /** Many consecutive wrong passwords on the account (from anywhere) since its last correct one. */
    failure_streak: 25,
  },
  /** Consecutive wrong passwords that raise `failure_streak`. */
  failureStreak: 10,
  /** score < stepUp: allow; stepUp <= score < deny: a fresh strong factor is needed; score >= deny: refused. */
  thresholds: { stepUp: 35, deny: 80 },
} as const;

/** A risk signal name. */
export type RiskSignal = keyof typeof RISK_POLICY.weights;

/** The outcome of an assessment, with the reasons that made the score. */
export interface RiskAssessment {
  score: number;
  decision: 'allow' | 'step_up' | 'deny';
  reasons: RiskSignal[];
}

/**
 * The network an address belongs to: its /24 for IPv4 (IPv4-mapped IPv6 included), its /48 for IPv6
 * (parsed, so `2001:db8::1` and `2001:0db8:0:0::1` are one network).
 */
export function networkOf(address: string): string {
  return addressPrefix(address, 24, 48);
}

/** Scores a set of signals with the policy. */
export function decide(reasons: RiskSignal[]): RiskAssessment {
  const score = reasons.reduce((s, r) => s + RISK_POLICY.weights[r], 0);
  const decision =
    score >= RISK_POLICY.thresholds.deny ? 'deny' : score >= RISK_POLICY.thresholds.stepUp ? 'step_up' : 'allow';
  return { score, decision, reasons };
}

const HOUR = 3_600_000;

function loginHistory(deps: AuthDeps, userId: string) {
  return deps.db
    .selectFrom('audit_log')
    .select(['id', 'uid', 'at', 'address', 'action'])
    .where('actor_id', '=', userId)
    .where('action', 'in', ['login.succeeded', 'login.failed', 'connect.device_proof_failed'])
    .where('at', '>', deps.clock.now() - 90 * 24 * HOUR)
    .orderBy('at', 'desc')
    .limit(2000)
    .execute();
}

type History = Awaited<ReturnType<typeof loginHistory>>;

// Addresses are sealed in the audit log: opened only where a signal needs them (newest first).
function addressOf(deps: AuthDeps, h: History[number]): Promise<string | null> {
  return h.address === null
    ? Promise.resolve(null)
    : deps.sealer.openText(h.address, auditAad('address', h.uid, Number(h.id)));
}

async function seenNetwork(deps: AuthDeps, successes: History, address: string): Promise<boolean> {
  for (const h of successes) {
    const a = await addressOf(deps, h);
    if (a !== null && networkOf(a) === networkOf(address)) return true;
  }
  return false;
}

/** True when the user has an approved, unrevoked device with this public key. */
export async function isKnownDevice(deps: AuthDeps, userId: string, devicePublicKey: string): Promise<boolean> {
  const d = await deps.db
    .selectFrom('devices')
    .select('id')
    .where('user_id', '=', userId)
    .where('public_key', '=', devicePublicKey)
    .where('approved_at', 'is not', null)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return d !== undefined;
}

/** True when the user logged in successfully from this address's network in the last 90 days. */
export async function isKnownNetwork(deps: AuthDeps, userId: string, address: string): Promise<boolean> {
  const successes = (await loginHistory(deps, userId)).filter((h) => h.action === 'login.succeeded');
  return seenNetwork(deps, successes, address);
}

/**
 * Scores a login after a correct password from signals the server really has: the device key, the
 * address's network against this user's earlier logins, the hour against their history, recent
 * failures and the account's streak of consecutive wrong passwords, velocity, and failed device proofs.
 * New accounts have no history: history-based signals stay quiet until there is enough of it.
 */
export async function assessLogin(
  deps: AuthDeps,
  userId: string,
  devicePublicKey: string,
  address: string,
  failureStreak = 0,
): Promise<RiskAssessment> {
  const now = deps.clock.now();
  const reasons: RiskSignal[] = [];
  const history = await loginHistory(deps, userId);
  const successes = history.filter((h) => h.action === 'login.succeeded');
  const device = await deps.db
    .selectFrom('devices')
    .select('id')
    .where('user_id', '=', userId)
    .where('public_key', '=', devicePublicKey)
    .where('approved_at', 'is not', null)
    .executeTakeFirst();
  if (successes.length > 0 && !device) reasons.push('new_device');
  if (successes.length > 0 && !(await seenNetwork(deps, successes, address))) reasons.push('new_network');
  if (successes.length >= 10) {
    const hour = new Date(now).getUTCHours();
    const near = successes.filter(
      (s) =>
        Math.min(Math.abs(new Date(s.at).getUTCHours() - hour), 24 - Math.abs(new Date(s.at).getUTCHours() - hour)) <=
        1,
    ).length;
    if (near / successes.length < 0.05) reasons.push('unusual_hour');
  }
  if (history.filter((h) => h.action === 'login.failed' && h.at > now - HOUR).length >= 3)
    reasons.push('recent_failures');
  if (failureStreak >= RISK_POLICY.failureStreak) reasons.push('failure_streak');
  const recent = successes.filter((s) => s.at > now - HOUR);
  const recentNetworks = async () =>
    new Set((await Promise.all(recent.map((h) => addressOf(deps, h)))).map((a) => a && networkOf(a))).size;
  if (
    recent.filter((s) => s.at > now - 10 * 60_000).length >= 5 ||
    (recent.length >= 3 && (await recentNetworks()) >= 3)
  )
    reasons.push('velocity');
  if (history.some((h) => h.action === 'connect.device_proof_failed' && h.at > now - 24 * HOUR))
    reasons.push('device_proof_failures');
  return decide(reasons);
}
