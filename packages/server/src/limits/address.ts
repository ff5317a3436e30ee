/**
 * Source addresses as rate-limit subjects. An attacker who holds a whole IPv4 /24 or an IPv6 /64 (the
 * smallest prefix a single customer usually gets) must not get a fresh bucket per address, so limits
 * on addresses are kept per exact address AND per prefix.
 */

/** A parsed IP address: its family and its bytes (4 or 16). */
export interface ParsedAddress {
  family: 4 | 6;
  bytes: number[];
}

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseV4(s: string): number[] | undefined {
  const m = V4.exec(s);
  if (!m) return undefined;
  const b = m.slice(1).map(Number);
  return b.every((x) => x <= 255) ? b : undefined;
}

function parseV6(s: string): number[] | undefined {
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  // A trailing dotted quad (e.g. ::ffff:192.0.2.1) stands for the last two groups.
  const last = (halves.length === 2 ? tail : head).at(-1);
  const quad = last !== undefined && last.includes('.') ? parseV4(last) : undefined;
  if (last !== undefined && last.includes('.') && !quad) return undefined;
  const list = halves.length === 2 ? tail : head;
  if (quad) list.splice(-1, 1, ((quad[0]! << 8) | quad[1]!).toString(16), ((quad[2]! << 8) | quad[3]!).toString(16));
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  return all.flatMap((g) => {
    const v = parseInt(g, 16);
    return [v >> 8, v & 0xff];
  });
}

/**
 * Parses an IPv4 or IPv6 address (zone ids dropped). An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`,
 * or its hex form) is the IPv4 address it maps, so a dual-stack socket cannot double an attacker's budget.
 */
export function parseAddress(address: string): ParsedAddress | undefined {
  const s = address.trim().replace(/%.*$/, '');
  const v4 = parseV4(s);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseV6(s);
  if (!v6) return undefined;
  const mapped = v6.slice(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? { family: 4, bytes: v6.slice(12) } : { family: 6, bytes: v6 };
}

function format(p: ParsedAddress, bits: number): string {
  const bytes = p.bytes.map((b, i) => (i * 8 >= bits ? 0 : i * 8 + 8 <= bits ? b : b & (0xff << (8 - (bits - i * 8)))));
  if (p.family === 4) return `${bytes.join('.')}/${bits}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return `${compress(groups)}/${bits}`;
}

/** RFC 5952 text: the longest run of two or more zero groups (the first, on a tie) becomes `::`. */
function compress(groups: string[]): string {
  let best = { at: -1, len: 1 };
  for (let i = 0; i < groups.length; i++) {
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j;
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}

/**
 * The prefix an address belongs to, in a canonical text form: `a.b.c.0/24` for IPv4, the first
 * `v6Bits` of IPv6 in full hex groups. An unparsable string is its own subject (never merged).
 */
export function addressPrefix(address: string, v4Bits: number, v6Bits: number): string {
  const p = parseAddress(address);
  if (!p) return `raw:${address}`;
  return format(p, p.family === 4 ? v4Bits : v6Bits);
}

/** Canonical form of the exact address (/32 or /128), so `::ffff:a.b.c.d` and `a.b.c.d` are one subject. */
export function exactAddress(address: string): string {
  return addressPrefix(address, 32, 128);
}

/** The network a source address is rate-limited with: its /24 (IPv4) or /64 (IPv6). */
export function sourceNetwork(address: string): string {
  return addressPrefix(address, 24, 64);
}
