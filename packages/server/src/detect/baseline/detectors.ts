import type { BaselineMetric } from '../engine/rules.js';
import {
  type BaselineState,
  hourOfDay,
  hourOfWeek,
  hourShare,
  isNewNetwork,
  knownNetworks,
  learned,
  rollTo,
  usualHours,
  weekHourRelative,
} from './model.js';
import { quantile, robust } from './stats.js';

/** A baseline test's verdict: why the observation is far outside the subject's history. */
export interface Deviation {
  explanation: string;
  evidence: Record<string, unknown>;
  firstSeenAt: number;
}

/** What a baseline test looks at. */
export interface BaselineProbe {
  at: number;
  /** Messages read (history.read) or 1. */
  weight: number;
  network: string | null;
  /** The rule's threshold (minimum volume, count). */
  threshold: number;
  learningDays: number;
}

/** Share of a user's activity below which an hour of day is unusual for them. */
export const UNUSUAL_HOUR_SHARE = 0.01;
/** Relative activity of an hour of week below which the organisation is "not active". */
export const QUIET_WEEK_HOUR = 0.1;

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const hhmm = (at: number): string => new Date(at).toISOString().slice(11, 16);
const hh = (h: number): string => `${String(h).padStart(2, '0')}:00`;
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const dayTime = (at: number): string => `${DAYS[new Date(at).getUTCDay()] ?? ''} ${hhmm(at)} UTC`;

/** Usual hourly volume: the larger of the 95th percentile and median + 3 MAD of past active hours. */
function usualVolume(s: BaselineState): { median: number; usual: number } {
  const { median, mad } = robust(s.reads.v);
  return { median, usual: Math.max(quantile(s.reads.v, 0.95), median + 3 * mad) };
}

function offhoursRead(s: BaselineState, p: BaselineProbe): Deviation | null {
  const volume = s.curReads + p.weight;
  if (volume < p.threshold || !learned(s, p.at, p.learningDays)) return null;
  const { median, usual } = usualVolume(s);
  if (volume < Math.max(10 * Math.max(median, 1), 3 * usual)) return null;
  const hod = hourOfDay(p.at);
  const share = hourShare(s, hod);
  if (share >= UNUSUAL_HOUR_SHARE) return null;
  const span = usualHours(s);
  const when = !span
    ? 'no activity seen at this hour'
    : hod < span[0]
      ? `never before ${hh(span[0])}`
      : hod > span[1]
        ? `never after ${hh(span[1] + 1)}`
        : `${(share * 100).toFixed(1)} % of activity at this hour`;
  const newNetwork = p.network !== null && knownNetworks(s) > 0 && isNewNetwork(s, p.network);
  return {
    explanation: `read ${fmt(volume)} messages at ${hhmm(p.at)}; usual is under ${fmt(Math.max(1, Math.ceil(usual)))} an hour, ${when}${newNetwork ? `; from ${p.network}, a network never seen for this user` : ''}`,
    evidence: {
      volume,
      usualPerHour: Math.ceil(usual),
      medianPerHour: median,
      hourShare: share,
      usualHours: span,
      newNetwork,
    },
    firstSeenAt: s.curFirstAt,
  };
}

function offhoursOrg(s: BaselineState, p: BaselineProbe): Deviation | null {
  if (!learned(s, p.at, p.learningDays)) return null;
  const rel = weekHourRelative(s, p.at);
  if (rel >= QUIET_WEEK_HOUR) return null;
  return {
    explanation: `granted at ${dayTime(p.at)}; the organisation's activity at this hour of the week is ${(rel * 100).toFixed(1)} % of an average hour`,
    evidence: { hourOfWeek: hourOfWeek(p.at), relativeActivity: rel },
    firstSeenAt: p.at,
  };
}

function serviceVolume(s: BaselineState, p: BaselineProbe): Deviation | null {
  const volume = s.curReads + p.weight;
  if (volume < p.threshold || !learned(s, p.at, p.learningDays)) return null;
  const { median, usual } = usualVolume(s);
  if (volume < Math.max(10 * Math.max(median, 1), 5 * usual)) return null;
  return {
    explanation: `read ${fmt(volume)} messages in the hour to ${hhmm(p.at)}; usual is under ${fmt(Math.max(1, Math.ceil(usual)))} an hour`,
    evidence: { volume, usualPerHour: Math.ceil(usual), medianPerHour: median },
    firstSeenAt: s.curFirstAt,
  };
}

function serviceNetwork(s: BaselineState, p: BaselineProbe): Deviation | null {
  if (!p.network || !learned(s, p.at, p.learningDays)) return null;
  const known = knownNetworks(s);
  if (known === 0 || !isNewNetwork(s, p.network)) return null;
  return {
    explanation: `used from ${p.network}, a network it never used in ${Math.floor((p.at - s.firstAt) / 86_400_000)} days (${known} known)`,
    evidence: { network: p.network, knownNetworks: known },
    firstSeenAt: p.at,
  };
}

function orgConnections(s: BaselineState, p: BaselineProbe): Deviation | null {
  const count = s.curConns + 1;
  if (count < p.threshold || !learned(s, p.at, p.learningDays)) return null;
  const { median, mad } = robust(s.conns.v);
  const expected = Math.max(s.howConns[hourOfWeek(p.at)] ?? 0, median);
  if (count < 4 * expected + 5 * mad) return null;
  return {
    explanation: `${fmt(count)} connections since ${hhmm(s.hourStart)}; usual for this hour is about ${fmt(expected)}`,
    evidence: { connections: count, expected, mad },
    firstSeenAt: s.curFirstAt,
  };
}

const TESTS: Record<BaselineMetric, (s: BaselineState, p: BaselineProbe) => Deviation | null> = {
  offhours_read: offhoursRead,
  offhours_org: offhoursOrg,
  service_volume: serviceVolume,
  service_network: serviceNetwork,
  org_connections: orgConnections,
};

/** Runs a baseline test on the model as it is before `p` is added to it (the current hour is rolled first). */
export function deviation(metric: BaselineMetric, s: BaselineState, p: BaselineProbe): Deviation | null {
  rollTo(s, p.at);
  return TESTS[metric](s, p);
}
