import { emptyHistory, ewma, type History, pushHistory } from './stats.js';

/** One hour, one week (UTC). */
export const HOUR_MS = 3_600_000;
export const WEEK_MS = 7 * 24 * HOUR_MS;
/** Networks a model remembers (least recently seen go first). */
export const MAX_NETWORKS = 32;
const HOW_DECAY = 0.9;
const CONN_ALPHA = 0.3;

/** Hour of week of an instant (UTC): 0 is Thursday 00:00 (the epoch's weekday), which does not matter. */
export const hourOfWeek = (at: number): number => Math.floor(at / HOUR_MS) % 168;
/** Hour of day of an instant (UTC). */
export const hourOfDay = (at: number): number => Math.floor(at / HOUR_MS) % 24;

/**
 * A streaming behaviour model of one subject (a user, a service account, or the organisation). Its
 * state is plain JSON (persisted in detect_baselines): activity by hour of week (closed hours only, decayed weekly),
 * read volume of active hours and connection counts (robust statistics over the last 128 values),
 * connections per hour of week (EWMA, organisation only), and the networks seen.
 */
export interface BaselineState {
  v: 1;
  firstAt: number;
  lastAt: number;
  /** Observations per hour of week, decayed by 0.9 a week. */
  how: number[];
  /** Start of the hour being accumulated. */
  hourStart: number;
  /** Messages read and connections opened in the current hour. */
  curReads: number;
  curConns: number;
  /** Observations in the current hour (added to `how` when the hour closes, so an hour never vouches for itself). */
  curObs: number;
  /** First observation of the current hour (a finding's firstSeenAt). */
  curFirstAt: number;
  /** Read volume of past hours with reads. */
  reads: History;
  /** Connections of past hours with connections. */
  conns: History;
  /** EWMA of connections per hour of week, every hour counted (organisation only; empty for others). */
  howConns: number[];
  /** Network prefix -> [first seen, last seen]. */
  nets: Record<string, [number, number]>;
}

/** A fresh model whose history starts at `at`. */
export function newBaseline(at: number, org = false): BaselineState {
  const hourStart = Math.floor(at / HOUR_MS) * HOUR_MS;
  return {
    v: 1,
    firstAt: at,
    lastAt: at,
    how: new Array<number>(168).fill(0),
    hourStart,
    curReads: 0,
    curConns: 0,
    curObs: 0,
    curFirstAt: at,
    reads: emptyHistory(),
    conns: emptyHistory(),
    howConns: org ? new Array<number>(168).fill(0) : [],
    nets: {},
  };
}

/** Closes the hours before `at`'s hour: their totals enter the histories. */
export function rollTo(s: BaselineState, at: number): void {
  const hour = Math.floor(at / HOUR_MS) * HOUR_MS;
  if (hour <= s.hourStart) return;
  const closed = hourOfWeek(s.hourStart);
  s.how[closed] = (s.how[closed] ?? 0) + s.curObs;
  if (s.curReads > 0) pushHistory(s.reads, s.curReads);
  if (s.curConns > 0) pushHistory(s.conns, s.curConns);
  if (s.howConns.length === 168) {
    // Every hour counts for the organisation, the empty ones too (bounded: at most one week of steps).
    const steps = Math.min(168, (hour - s.hourStart) / HOUR_MS);
    for (let i = 0; i < steps; i++) {
      const h = hourOfWeek(s.hourStart + i * HOUR_MS);
      s.howConns[h] = ewma(s.howConns[h] ?? 0, i === 0 ? s.curConns : 0, CONN_ALPHA);
    }
  }
  const weeks = Math.floor(hour / WEEK_MS) - Math.floor(s.hourStart / WEEK_MS);
  if (weeks > 0) {
    const f = HOW_DECAY ** Math.min(weeks, 50);
    for (let i = 0; i < 168; i++) s.how[i] = (s.how[i] ?? 0) * f;
  }
  s.hourStart = hour;
  s.curReads = 0;
  s.curConns = 0;
  s.curObs = 0;
  s.curFirstAt = at;
}

/** What happened, for the model. */
export interface Activity {
  at: number;
  reads?: number;
  connections?: number;
  network?: string | null;
}

/** Adds one observation (after the rules looked at the model as it was). */
export function observeActivity(s: BaselineState, a: Activity): void {
  rollTo(s, a.at);
  s.lastAt = Math.max(s.lastAt, a.at);
  s.curObs += 1;
  s.curReads += a.reads ?? 0;
  s.curConns += a.connections ?? 0;
  if (a.network) {
    const seen = s.nets[a.network];
    s.nets[a.network] = [seen?.[0] ?? a.at, a.at];
    const keys = Object.keys(s.nets);
    if (keys.length > MAX_NETWORKS) {
      let oldest = keys[0] as string;
      for (const k of keys) if ((s.nets[k]?.[1] ?? 0) < (s.nets[oldest]?.[1] ?? 0)) oldest = k;
      delete s.nets[oldest];
    }
  }
}

/** True when `network` was not seen before the current hour (networks first seen in it count as new). */
export function isNewNetwork(s: BaselineState, network: string): boolean {
  const seen = s.nets[network];
  return seen === undefined || seen[0] >= s.hourStart;
}

/** Networks seen before the current hour. */
export const knownNetworks = (s: BaselineState): number =>
  Object.values(s.nets).filter(([first]) => first < s.hourStart).length;

/** True once the model has `days` of history at `at`. */
export const learned = (s: BaselineState, at: number, days: number): boolean => at - s.firstAt >= days * 86_400_000;

/** Share of the model's activity in hour of day `hod` (0..1; 0 when there is none). */
export function hourShare(s: BaselineState, hod: number): number {
  let total = 0;
  let inHour = 0;
  for (let i = 0; i < 168; i++) {
    const v = s.how[i] ?? 0;
    total += v;
    if (i % 24 === hod) inHour += v;
  }
  return total > 0 ? inHour / total : 0;
}

/** The span of hours of day holding the subject's usual activity (each at least 2 % of it): [first, last]. */
export function usualHours(s: BaselineState): [number, number] | null {
  const byHour = new Array<number>(24).fill(0);
  let total = 0;
  for (let i = 0; i < 168; i++) {
    byHour[i % 24] = (byHour[i % 24] ?? 0) + (s.how[i] ?? 0);
    total += s.how[i] ?? 0;
  }
  if (total === 0) return null;
  const usual = byHour.map((v, h) => (v / total >= 0.02 ? h : -1)).filter((h) => h >= 0);
  return usual.length ? [usual[0] as number, usual[usual.length - 1] as number] : null;
}

/** Share of the organisation's activity in this hour of week relative to an average hour (1 = average). */
export function weekHourRelative(s: BaselineState, at: number): number {
  let total = 0;
  for (let i = 0; i < 168; i++) total += s.how[i] ?? 0;
  return total > 0 ? ((s.how[hourOfWeek(at)] ?? 0) * 168) / total : 0;
}

/** Checks and repairs a state read back from storage; null when it is not a baseline. */
export function parseBaseline(json: string): BaselineState | null {
  const s = JSON.parse(json) as Partial<BaselineState>;
  if (s.v !== 1 || !Array.isArray(s.how) || s.how.length !== 168 || typeof s.firstAt !== 'number') return null;
  if (!s.reads || !s.conns || !Array.isArray(s.howConns) || typeof s.nets !== 'object') return null;
  if (typeof s.curFirstAt !== 'number') s.curFirstAt = s.hourStart ?? s.firstAt;
  if (typeof s.curObs !== 'number') s.curObs = 0;
  return s as BaselineState;
}
