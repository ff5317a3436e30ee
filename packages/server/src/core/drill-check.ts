import { AppError } from './errors.js';

/** The header carrying a drill's token on drill traffic (HTTP requests and WebSocket upgrades). */
export const DRILL_HEADER = 'x-palisade-drill';
/** The header naming the address a drill acts from (TEST-NET only, and only with a valid drill token). */
export const DRILL_SOURCE_HEADER = 'x-palisade-drill-source';

/** What the transports need from the drill registry: the drill id of a live drill's token. */
export interface DrillCheck {
  /** The id of the running drill whose token this is, or undefined (unknown, finished or expired). */
  check(token: string): string | undefined;
}

/** How a transport labels one request: the drill id, and the client address the drill acts from. */
export interface DrillMark {
  drill: string;
  /** Set when the request named a TEST-NET source address. */
  address?: string;
}

/** The documentation ranges of RFC 5737 (TEST-NET-1, -2, -3): never routed, so safe to block. */
const TEST_NETS = ['192.0.2.', '198.51.100.', '203.0.113.'];
const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** True for a canonical dotted-quad IPv4 address in 192.0.2.0/24, 198.51.100.0/24 or 203.0.113.0/24. */
export function isTestNetAddress(ip: string): boolean {
  const m = DOTTED_QUAD.exec(ip);
  if (!m) return false;
  // Canonical only: no leading zeros, every octet 0-255 (so "203.0.113.007" is not accepted).
  if (m.slice(1).some((o) => String(Number(o)) !== o || Number(o) > 255)) return false;
  return TEST_NETS.some((p) => ip.startsWith(p));
}

/** One header value, or undefined when absent or repeated (a repeated drill header is ignored). */
function single(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= 256 ? value : undefined;
}

/**
 * Reads the drill headers of a request. SECURITY: without a token the registry knows, both headers
 * are ignored (undefined: ordinary traffic, the real address). With one, a source address outside
 * the TEST-NET ranges is refused (`bad_request`), so a drill can never pose as a real address.
 * The mark only labels: detection and response treat drill traffic like any other.
 */
export function readDrillMark(
  drills: DrillCheck | undefined,
  tokenHeader: unknown,
  sourceHeader: unknown,
  peer?: string,
): DrillMark | undefined {
  const token = single(tokenHeader);
  if (!drills || token === undefined) return undefined;
  const drill = drills.check(token);
  if (drill === undefined) return undefined;
  if (sourceHeader === undefined) return { drill };
  const source = single(sourceHeader);
  if (source === undefined || !isTestNetAddress(source))
    throw new AppError(
      'bad_request',
      'a drill source address must be in 192.0.2.0/24, 198.51.100.0/24 or 203.0.113.0/24',
    );
  // SECURITY (review): a chosen source address only from the server's own machine (where the drill
  // runs, with the admin socket); a token that leaked elsewhere cannot pick its address.
  if (peer !== undefined && !isLoopbackPeer(peer))
    throw new AppError('bad_request', 'a drill source address is honoured only from the server machine itself');
  return { drill, address: source };
}

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped form. */
function isLoopbackPeer(a: string): boolean {
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  return v4 === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}
