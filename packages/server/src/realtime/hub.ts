import { checkSessions, SESSIONS_REVOKED, type SessionProblem, type SessionsRevoked } from '../auth/index.js';
import {
  AppError,
  systemTimers,
  type AlertRaised,
  type KeyPackagesLow,
  type Principal,
  type WelcomesStored,
} from '../core/index.js';
import { accountCan } from '../rbac/index.js';
import { KEY_PACKAGES_LOW, WELCOMES_STORED } from '../e2ee/index.js';
import {
  conversationMembers,
  MEMBERS_CHANGED,
  MESSAGE_SENT,
  RECEIPT_UPDATED,
  TYPING_STARTED,
  type MembersChanged,
  type MessageSent,
  type ReceiptUpdated,
  type TypingStarted,
} from '../messaging/index.js';
import type { RealtimeDeps } from './deps.js';
import { CLOSE } from './frame-errors.js';
import { MessageFrames } from './message-frames.js';
import type { Peer } from './peer.js';

interface Members {
  kind: 'direct' | 'group';
  users: Set<string>;
}

const MEMBER_CACHE_MAX = 50_000;
/** Default cadence of the session re-check of open sockets. */
export const RECHECK_EVERY_MS = 60_000;
/** Default cadence of the look for stalled (non-reading) sockets. */
export const SWEEP_EVERY_MS = 5_000;

/** The close reason for each way a session stops holding (all close with 4401: log in again). */
const CLOSE_REASON: Record<SessionProblem, string> = {
  revoked: 'session revoked',
  expired: 'session expired',
  idle: 'session idle',
  user_disabled: 'account disabled',
  device_revoked: 'device revoked',
};

/**
 * Knows which connections are online and routes bus events to them: messages to every device of
 * every member, receipts, typing, presence, membership changes and session revocation.
 */
export class Hub {
  inflight = 0;
  draining = false;
  private readonly byUser = new Map<string, Set<Peer>>();
  private readonly bySession = new Map<string, Set<Peer>>();
  private readonly members = new Map<string, Members>();
  private readonly unsubscribe: (() => void)[] = [];
  /** Session re-check passes completed (a diagnostic; tests wait on it after advancing a fake clock). */
  rechecks = 0;
  private readonly stopRechecks: () => void;
  private readonly sweeper: NodeJS.Timeout;
  private rechecking = false;

  constructor(private readonly deps: RealtimeDeps) {
    const bus = deps.messaging.bus;
    this.unsubscribe.push(
      bus.subscribe(MESSAGE_SENT, (e) => void this.onMessage(e.data)),
      bus.subscribe(MEMBERS_CHANGED, (e) => this.onMembers(e.data)),
      bus.subscribe(RECEIPT_UPDATED, (e) => void this.onReceipt(e.data)),
      bus.subscribe(TYPING_STARTED, (e) => void this.onTyping(e.data)),
      bus.subscribe(WELCOMES_STORED, (e) => this.onWelcomes(e.data)),
      bus.subscribe(KEY_PACKAGES_LOW, (e) => this.onKeyPackagesLow(e.data)),
      deps.auth.bus.subscribe(SESSIONS_REVOKED, (e) => this.onRevoked(e.data)),
      deps.auth.bus.subscribe('alert.raised', (e) => this.onAlert(e.data)),
    );
    // SECURITY (S21): an open socket is not activity by itself; every socket's session is re-read
    // periodically and the socket closed once the session is revoked, expired, idle or its device gone.
    this.stopRechecks = (deps.timers ?? systemTimers).setInterval(
      () => void this.recheck(),
      deps.recheckEveryMs ?? RECHECK_EVERY_MS,
    );
    this.sweeper = setInterval(() => this.sweep(), deps.sweepEveryMs ?? SWEEP_EVERY_MS);
    this.sweeper.unref();
  }

  /** Number of authenticated connections. */
  get size(): number {
    let n = 0;
    for (const set of this.bySession.values()) n += set.size;
    return n;
  }

  /** All authenticated connections. */
  *connections(): Iterable<Peer> {
    for (const set of this.bySession.values()) yield* set;
  }

  /** Adds an authenticated connection; returns true when it is the user's first one (now online). */
  register(c: Peer): boolean {
    const p = c.principal as Principal;
    add(this.bySession, p.sessionId, c);
    return add(this.byUser, p.userId, c);
  }

  /** Tells the members of the user's conversations that the user came online (call once cursors are known). */
  announceOnline(c: Peer): void {
    void this.presence(c, true);
  }

  unregister(c: Peer): void {
    const p = c.principal as Principal;
    const last = remove(this.byUser, p.userId, c);
    remove(this.bySession, p.sessionId, c);
    if (last) void this.presence(c, false);
  }

  /** Relays a typing notice after checking membership (ephemeral, never stored). */
  async typing(p: Principal, conversationId: string): Promise<void> {
    const m = await this.membersOf(conversationId);
    if (!m?.users.has(p.userId)) throw new AppError('not_found', 'no such conversation');
    this.deps.messaging.limiter.check('ephemeral.send', p.deviceId);
    this.deps.messaging.bus.publish({
      type: TYPING_STARTED,
      data: { conversationId, userId: p.userId } satisfies TypingStarted,
    });
  }

  close(): void {
    for (const u of this.unsubscribe) u();
    this.stopRechecks();
    clearInterval(this.sweeper);
  }

  /** Closes (4008) every socket whose send buffer has stalled; the devices resume from their cursors. */
  sweep(): void {
    // Monotonic: a wall-clock jump must not make every congested socket look stalled.
    const now = this.deps.monotonicNow?.() ?? performance.now();
    for (const c of [...this.connections()]) c.sweep(now);
  }

  private async membersOf(conversationId: string): Promise<Members | undefined> {
    const hit = this.members.get(conversationId);
    if (hit) return hit;
    const m = await conversationMembers(this.deps.messaging.db, conversationId);
    if (!m) return undefined;
    if (this.members.size >= MEMBER_CACHE_MAX) this.members.clear();
    const entry = { kind: m.kind, users: new Set(m.userIds) };
    this.members.set(conversationId, entry);
    return entry;
  }

  private async onMessage(e: MessageSent): Promise<void> {
    const m = await this.membersOf(e.conversationId);
    if (!m) return;
    // One serialisation per fan-out and format, made lazily by the first receiver that needs it.
    const frames = e.message ? new MessageFrames(e.message) : undefined;
    for (const u of m.users) {
      const conns = this.byUser.get(u);
      if (conns) for (const c of conns) c.deliver(e.conversationId, e.seq, frames);
    }
  }

  private onMembers(e: MembersChanged): void {
    this.members.delete(e.conversationId);
    for (const u of e.added) for (const c of this.byUser.get(u) ?? []) c.joined(e.conversationId);
    for (const u of e.removed) for (const c of this.byUser.get(u) ?? []) c.left(e.conversationId);
  }

  private async onReceipt(e: ReceiptUpdated): Promise<void> {
    const m = await this.membersOf(e.conversationId);
    // Delivery receipts fan out live only in direct conversations; groups read them on demand.
    if (!m || (e.kind === 'delivered' && m.kind !== 'direct')) return;
    this.toMembers(m, {
      type: 'receipt',
      conversationId: e.conversationId,
      userId: e.userId,
      kind: e.kind,
      seq: e.seq,
    });
  }

  private async onTyping(e: TypingStarted): Promise<void> {
    const m = await this.membersOf(e.conversationId);
    if (m) this.toMembers(m, { type: 'typing', conversationId: e.conversationId, userId: e.userId }, e.userId);
  }

  /** Each added device's Welcome, to that device only (a replayed event has none: devices list theirs). */
  private onWelcomes(e: WelcomesStored): void {
    if (e.welcome === undefined) return;
    for (const w of e.welcomes)
      this.toDevice(w.userId, w.deviceId, {
        type: 'welcome',
        id: w.id,
        conversationId: e.conversationId,
        seq: e.seq,
        welcome: e.welcome,
      });
  }

  private onKeyPackagesLow(e: KeyPackagesLow): void {
    this.toDevice(e.userId, e.deviceId, { type: 'key_packages_low', stock: e.stock });
  }

  /**
   * An alert goes to every socket of a holder of `alert.manage`. SECURITY: the frame names the rule
   * and a title, nothing of the evidence; the roles are the socket's, re-read with its session.
   */
  private onAlert(e: AlertRaised): void {
    const frame = JSON.stringify({
      type: 'alert',
      alertId: e.alertId,
      ruleId: e.ruleId,
      severity: e.severity,
      title: e.title,
      at: new Date(e.at).toISOString(),
      count: e.count,
    });
    for (const set of this.byUser.values())
      for (const c of set) if (c.principal && accountCan(c.principal.roles, 'alert.manage')) c.push(frame);
  }

  /** SECURITY: a frame for one device goes only to that device's own connections. */
  private toDevice(userId: string, deviceId: string, frame: Parameters<Peer['push']>[0]): void {
    for (const c of this.byUser.get(userId) ?? []) if (c.principal?.deviceId === deviceId) c.push(frame);
  }

  private toMembers(m: Members, frame: Parameters<Peer['push']>[0], except?: string): void {
    const text = JSON.stringify(frame);
    for (const u of m.users) if (u !== except) for (const c of this.byUser.get(u) ?? []) c.push(text);
  }

  private async presence(c: Peer, online: boolean): Promise<void> {
    const userId = (c.principal as Principal).userId;
    const notified = new Set<string>([userId]);
    const frame = JSON.stringify({ type: 'presence', userId, online });
    for (const conversationId of [...c.cursors.keys()]) {
      const m = await this.membersOf(conversationId).catch(() => undefined);
      for (const u of m?.users ?? []) {
        if (notified.has(u)) continue;
        notified.add(u);
        for (const other of this.byUser.get(u) ?? []) other.push(frame);
      }
    }
  }

  private onRevoked(e: SessionsRevoked): void {
    const reason = e.reason === 'user_disabled' ? CLOSE_REASON.user_disabled : 'session revoked';
    for (const id of e.sessionIds)
      for (const c of [...(this.bySession.get(id) ?? [])]) c.close(CLOSE.unauthenticated, reason);
  }

  /** Re-reads the session of every open socket (batched) and closes those that no longer hold. */
  async recheck(): Promise<void> {
    if (this.rechecking || this.bySession.size === 0) return;
    this.rechecking = true;
    try {
      const results = await checkSessions(this.deps.auth, [...this.bySession.keys()]);
      for (const [id, r] of results) {
        for (const c of [...(this.bySession.get(id) ?? [])]) {
          if (r.ok) c.sessionHolds(r.expiresAt);
          else c.close(CLOSE.unauthenticated, CLOSE_REASON[r.problem]);
        }
      }
    } catch (e) {
      this.deps.log.warn({ err: e }, 'session re-check failed; retried at the next interval');
    } finally {
      this.rechecking = false;
      this.rechecks++;
    }
  }
}

function add<K, V>(map: Map<K, Set<V>>, key: K, v: V): boolean {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(v);
  return set.size === 1;
}

function remove<K, V>(map: Map<K, Set<V>>, key: K, v: V): boolean {
  const set = map.get(key);
  if (!set?.delete(v)) return false;
  if (set.size === 0) map.delete(key);
  return set.size === 0;
}
