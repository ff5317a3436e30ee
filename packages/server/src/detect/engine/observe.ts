import type { SecurityEvent, SecuritySignal } from '../../core/index.js';

/** What the engine ingests: a committed audit record or an ephemeral signal. */
export type DetectInput = { kind: 'event'; event: SecurityEvent } | { kind: 'signal'; signal: SecuritySignal };

/**
 * One input, normalised to the fields rules select and key on. `name` is the audit action, or
 * `signal:<kind>` for a signal. SECURITY: holds ids, addresses, counts and times only.
 */
export interface Observation {
  at: number;
  name: string;
  outcome: 'success' | 'failure';
  /** Who acted (the authenticated user), when known. */
  actor: string | null;
  /** The account concerned: the actor, or the account name tried (`name:<username>`) for logins. */
  account: string | null;
  address: string | null;
  /** The address's network: /24 for IPv4, /64 for IPv6. */
  network: string | null;
  session: string | null;
  device: string | null;
  target: string | null;
  /** The audit chain position (events only). */
  seq: number | null;
  drill: string | undefined;
  /** How much it counts: 1, or a history read's message count. */
  weight: number;
  details: Record<string, unknown>;
  /** True when the actor is a service account (a service token's owner). */
  service: boolean;
}

/** The network prefix of an address: `203.0.113.0/24`, or the first four IPv6 groups `/64`. */
export function networkOf(address: string | null | undefined): string | null {
  if (!address) return null;
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}$/i.exec(address);
  if (v4) return `${v4[1]}.${v4[2]}.${v4[3]}.0/24`;
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups =
    tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** Resolves login account names to user ids when an audit record shows both (bounded). */
export class AccountNames {
  private readonly byName = new Map<string, string>();
  constructor(private readonly max = 100_000) {}
  /** Remembers that `username` is user `id`. */
  learn(username: string, id: string): void {
    if (this.byName.size >= this.max) this.byName.delete(this.byName.keys().next().value as string);
    this.byName.set(username.toLowerCase(), id);
  }
  /** The account key of a login by name: the user id when known, else `name:<username>`. */
  account(username: string): string {
    const u = username.toLowerCase();
    return this.byName.get(u) ?? `name:${u}`;
  }
}

/**
 * The device each session was opened on, from `login.succeeded` (target: the session, details.deviceId),
 * bounded (the oldest sessions go first). A connection on a session from another device is a mismatch.
 */
export class SessionDevices {
  private readonly bySession = new Map<string, string>();
  constructor(private readonly max = 200_000) {}
  /** Learns bindings from a login, and marks a connection `details.sessionDevice`: match, mismatch or unknown. */
  note(o: Observation): void {
    if (o.name === 'login.succeeded' && o.target && o.device) {
      if (this.bySession.size >= this.max) this.bySession.delete(this.bySession.keys().next().value as string);
      this.bySession.set(o.target, o.device);
    } else if (o.name === 'signal:connection.opened' && o.session && o.device) {
      const bound = this.bySession.get(o.session);
      o.details = { sessionDevice: bound === undefined ? 'unknown' : bound === o.device ? 'match' : 'mismatch' };
    }
  }
}

/** Normalises an event or a signal. `isService` says whether a user id is a known service account. */
export function observe(input: DetectInput, names: AccountNames, isService: (id: string) => boolean): Observation {
  if (input.kind === 'event') {
    const e = input.event;
    const username = str(e.details.username);
    if (username && e.actorId) names.learn(username, e.actorId);
    const account = e.actorId ?? (username ? names.account(username) : null);
    return {
      at: e.at,
      name: e.action,
      outcome: e.outcome,
      actor: e.actorId,
      account,
      address: e.address,
      network: networkOf(e.address),
      session:
        str(e.details.sessionId) ??
        (e.action.startsWith('connect.') || e.action.startsWith('service_token.') ? e.target : null),
      device: str(e.details.deviceId),
      target: e.target,
      seq: e.seq,
      drill: e.drill,
      // Suppressed refusals reached detection one by one as signals (rbac/refusals.ts).
      weight: 1,
      details: e.details,
      // Service tokens belong to service accounts only.
      service: e.action.startsWith('service_token.') || (e.actorId !== null && isService(e.actorId)),
    };
  }
  const s = input.signal;
  const base = {
    at: s.at,
    name: `signal:${s.kind}`,
    outcome: 'failure' as const,
    address: s.address ?? null,
    network: networkOf(s.address),
    session: null,
    device: null,
    target: null,
    seq: null,
    drill: s.drill,
    weight: 1,
  };
  switch (s.kind) {
    case 'history.read':
      return {
        ...base,
        outcome: 'success',
        actor: s.userId,
        account: s.userId,
        device: s.deviceId,
        target: s.conversationId,
        weight: Math.max(0, s.count),
        details: {},
        service: s.service === true || isService(s.userId),
      };
    case 'connection.opened':
      return {
        ...base,
        outcome: 'success',
        actor: s.userId,
        account: s.userId,
        device: s.deviceId,
        session: s.sessionId,
        details: {},
        service: isService(s.userId),
      };
    case 'login.throttled':
      return { ...base, actor: null, account: names.account(s.username), details: {}, service: false };
    case 'rate_limited':
      return {
        ...base,
        actor: s.userId ?? null,
        account: s.userId ?? null,
        details: { limit: s.limit },
        service: s.userId !== undefined && isService(s.userId),
      };
  }
}
