import type { DetectInput } from '../detect/index.js';
import { ev, rng, sig } from './detect.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** One simulated person: working hours, habits, addresses. */
interface Person {
  id: string;
  name: string;
  start: number;
  end: number;
  /** Messages read in a typical active hour. */
  readRate: number;
  office: boolean;
  home: string;
  mobile: string | null;
  saturday: boolean;
  burstDay: number;
  admin: boolean;
  devices: number;
  /** Week of a holiday (none: -1); the first day back starts with a big catch-up. */
  holiday: number;
}

/** Options of the benign workload. */
export interface WorkloadOptions {
  users: number;
  weeks: number;
  /** Monday 00:00 UTC of the first week. */
  start: number;
  seed: number;
  bots?: number;
}

const officeAddress = (r: () => number) => `198.51.100.${10 + Math.floor(r() * 8)}`;

function people(o: WorkloadOptions, r: () => number): Person[] {
  return Array.from({ length: o.users }, (_, i) => {
    const office = r() < 0.6;
    // Most work local office hours; some sit in another time zone, a few work nights.
    const shift = r() < 0.1 ? 5 + Math.floor(r() * 4) : r() < 0.04 ? 13 : 0;
    return {
      id: `u${i}`,
      name: `user${i}`,
      start: 7 + Math.floor(r() * 4) + shift,
      end: 16 + Math.floor(r() * 4) + shift,
      readRate: 5 + Math.floor(r() * r() * 60),
      office,
      home: `${20 + Math.floor(r() * 180)}.${Math.floor(r() * 250)}.${Math.floor(r() * 250)}.${1 + Math.floor(r() * 250)}`,
      mobile:
        r() < 0.3 ? `100.${64 + Math.floor(r() * 60)}.${Math.floor(r() * 250)}.${1 + Math.floor(r() * 250)}` : null,
      saturday: r() < 0.1,
      burstDay: Math.floor(r() * 5),
      admin: i < 6,
      devices: 1,
      holiday: r() < 0.25 ? 1 + Math.floor(r() * (o.weeks - 1)) : -1,
    };
  });
}

/** The people of a workload (the same ones `benignDays` simulates for the same options). */
export function benignPeople(o: WorkloadOptions): { id: string; start: number; end: number }[] {
  return people(o, rng(o.seed)).map((p) => ({ id: p.id, start: p.start, end: p.end }));
}

/**
 * A generated benign workload, one day at a time (events sorted by time): weekday office hours with
 * per-person start and end, read volumes that vary by person, typos and forgotten passwords at login,
 * reconnects (mobile users switch networks), a weekly catch-up burst per person, a bigger one after a
 * holiday week, occasional late nights and Saturdays, people in other time zones and on night shifts, new devices now and then, admins granting roles and creating or cleaning up
 * conversations in office hours, the odd refused action, and service bots reading around the clock.
 */
export function* benignDays(o: WorkloadOptions): Generator<DetectInput[]> {
  const r = rng(o.seed);
  const ps = people(o, r);
  const bots = Array.from({ length: o.bots ?? 3 }, (_, i) => ({
    id: `bot${i}`,
    address: `192.0.2.${20 + i}`,
    token: `tok${i}`,
    rate: 40 + Math.floor(r() * 150),
  }));
  let sessionN = 0;
  let convN = 0;
  for (let day = 0; day < o.weeks * 7; day++) {
    const base = o.start + day * DAY;
    const weekday = day % 7; // 0 Monday
    const out: DetectInput[] = [];
    const t = (h: number) => base + Math.floor(h * HOUR);
    for (const p of ps) {
      const week = Math.floor(day / 7);
      const away = week === p.holiday;
      const back = week === p.holiday + 1 && weekday === 0;
      const works = !away && (weekday < 5 ? r() < 0.93 : weekday === 5 && p.saturday && r() < 0.5);
      const late = r() < 0.04;
      if (!works && !late) continue;
      const from = works ? p.start + r() * 1.5 : 21 + r() * 1.5;
      const until = works ? p.end + r() * 1.5 : from + 0.5 + r();
      const addr = works && p.office && weekday < 5 ? officeAddress(r) : p.home;
      // Login: a typo now and then, rarely a forgotten password.
      const fails = r() < 0.05 ? 1 + Math.floor(r() * 2) : r() < 0.004 ? 4 + Math.floor(r() * 5) : 0;
      for (let k = 0; k < fails; k++)
        out.push(
          ev('login.failed', t(from) + k * 20_000, { actorId: p.id, address: addr, details: { step: 'password' } }),
        );
      const session = `s${++sessionN}`;
      const loginAt = t(from) + fails * 20_000 + 5_000;
      // Now and then a new device (a new phone, a reinstalled laptop): the day's session is opened on it.
      if (r() < 0.01) {
        p.devices += 1;
        out.push(ev('device.added', loginAt - 1000, { actorId: p.id, target: `${p.id}-d${p.devices}` }));
      }
      out.push(
        ev('login.succeeded', loginAt, {
          actorId: p.id,
          target: session,
          address: addr,
          details: { deviceId: `${p.id}-d${p.devices}` },
        }),
      );
      // Reconnects through the day (mobile users sometimes from their phone network).
      const conns = 2 + Math.floor(r() * 5);
      for (let k = 0; k < conns; k++) {
        const at = loginAt + 2000 + Math.floor(r() * (until - from) * HOUR);
        const a = p.mobile && r() < 0.3 ? p.mobile : addr;
        out.push(
          sig({
            kind: 'connection.opened',
            at,
            address: a,
            userId: p.id,
            deviceId: `${p.id}-d${p.devices}`,
            sessionId: session,
          }),
        );
      }
      // History reads: a few per active hour; one catch-up burst a week.
      for (let h = Math.floor(from); h < until; h++) {
        const first = h === Math.floor(from);
        const burst = works && first && back ? 8 + r() * 6 : works && weekday === p.burstDay && first ? 3 + r() * 5 : 1;
        const total = Math.round(p.readRate * (0.3 + r() * 1.4) * burst * (works ? 1 : 0.6));
        const reads = 1 + Math.floor(r() * 4);
        for (let k = 0; k < reads; k++)
          out.push(
            sig({
              kind: 'history.read',
              at: Math.max(loginAt + 3000, t(h + r())),
              address: addr,
              userId: p.id,
              deviceId: `${p.id}-d${p.devices}`,
              conversationId: `c${Math.floor(r() * 200)}`,
              count: Math.ceil(total / reads),
            }),
          );
      }
      if (r() < 0.01) {
        const n = 1 + Math.floor(r() * 3);
        for (let k = 0; k < n; k++)
          out.push(
            ev('authz.refused', t(from + 1 + r()), {
              actorId: p.id,
              details: { code: 'forbidden', operation: 'PATCH /conversations/:id' },
            }),
          );
      }
      if (p.admin && works && weekday < 5) {
        if (r() < 0.15) {
          const who = ps[Math.floor(r() * ps.length)] as Person;
          out.push(
            ev('role.granted', t(10 + r() * 6), {
              actorId: p.id,
              target: `${who.id}/moderator`,
              details: { kind: 'standing' },
            }),
          );
        }
        if (r() < 0.2) {
          const conv = `conv${++convN}`;
          const at = t(9.5 + r() * 7);
          const n = 5 + Math.floor(r() * 80);
          for (let k = 0; k < n; k++)
            out.push(ev('member.added', at + k, { actorId: p.id, target: `${conv}/u${Math.floor(r() * o.users)}` }));
        }
        if (r() < 0.1)
          out.push(ev('conversation.deleted', t(11 + r() * 5), { actorId: p.id, target: `old${day}-${p.id}` }));
        if (r() < 0.1)
          out.push(
            ev('member.removed', t(11 + r() * 5), {
              actorId: p.id,
              target: `conv${Math.max(1, convN - 3)}/u${Math.floor(r() * o.users)}`,
            }),
          );
        if (r() < 0.02) out.push(ev('user.deleted', t(14 + r() * 2), { actorId: p.id, target: `gone${day}` }));
      }
    }
    for (const b of bots) {
      for (let h = 0; h < 24; h++) {
        const at = t(h + r() * 0.9);
        out.push(ev('service_token.used', at, { actorId: b.id, target: b.token, address: b.address }));
        out.push(
          sig({
            kind: 'history.read',
            at: at + 1000,
            address: b.address,
            userId: b.id,
            deviceId: `${b.id}-d`,
            conversationId: `c${h}`,
            count: Math.round(b.rate * (0.5 + r())),
            service: true,
          }),
        );
      }
      if (r() < 0.15)
        out.push(
          ev('service_token.refused', t(r() * 24), { actorId: b.id, target: `${b.token}-old`, address: b.address }),
        );
    }
    out.sort((a, b) => atOf(a) - atOf(b));
    yield out;
  }
}

/** When an input happened. */
export const atOf = (i: DetectInput): number => (i.kind === 'event' ? i.event.at : i.signal.at);
