import { AppError, type Clock, type Logger, type Timers } from '../core/index.js';
import { addressPrefix, parseAddress, type ParsedAddress } from './address.js';

/** One block in force: a canonical prefix (`a.b.c.d/32`, `a.b.c.0/24`, `2001:db8::/48`) and its end. */
export interface AddressBlock {
  prefix: string;
  /** Wall-clock ms when it ends; null: until undone. */
  until: number | null;
}

/** True for loopback (127.0.0.0/8, ::1, and IPv4-mapped loopback). */
function isLoopback(p: ParsedAddress): boolean {
  if (p.family === 4) return p.bytes[0] === 127;
  return p.bytes.slice(0, 15).every((b) => b === 0) && p.bytes[15] === 1;
}

/**
 * The canonical prefix of `a.b.c.d`, `a.b.c.d/24` or `2001:db8::/48`, or undefined when it is not an IP
 * address or prefix, is shorter than /8 (IPv4) or /16 (IPv6), or covers a loopback address.
 * SECURITY: a block never covers loopback (the admin tooling and health checks run there) and never a
 * huge range (a /0 or /1 block is an outage, not a containment).
 */
export function canonicalBlock(prefix: string): string | undefined {
  const [addr = '', bits, ...rest] = prefix.trim().split('/');
  const p = parseAddress(addr);
  if (!p || rest.length > 0) return undefined;
  const max = p.family === 4 ? 32 : 128;
  const n = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : -1;
  if (n < (p.family === 4 ? 8 : 16) || n > max) return undefined;
  // An IPv6 prefix of a mapped IPv4 address is rejected: blocks are written in the family they match.
  if (p.family === 4 && addr.includes(':')) return undefined;
  if (isLoopback(p) || (p.family === 6 && n < 128 && p.bytes.slice(0, Math.ceil(n / 8)).every((b) => b === 0)))
    return undefined;
  return addressPrefix(addr, n, n);
}

/**
 * The address and network blocks of the containments in force, held in memory so the check is
 * synchronous (login, MFA, enrolment, and the HTTP and WebSocket edges call it on every request).
 * `refresh()` reloads from the store: the responder calls it after every change on this node, and the
 * timer of `start()` picks up changes made by other nodes.
 * SECURITY: loopback is never blocked, nor anything that is not an IP address (the admin unix socket
 * has none), whatever the table says.
 */
export class AddressBlocks {
  /** Per family, per prefix length, the prefixes in force and their end. */
  private byLength = new Map<number, Map<string, number | null>>();
  private stopTimer: (() => void) | undefined;

  constructor(
    private readonly opts: {
      clock: Clock;
      /** Reads the blocks in force from the store (detect's `loadAddressBlocks`); absent: `replace` only. */
      load?: () => Promise<AddressBlock[]>;
      timers?: Timers;
      refreshMs?: number;
      log?: Logger;
    },
  ) {}

  /** True when a block in force covers the address. */
  isBlocked(address: string): boolean {
    if (this.byLength.size === 0) return false;
    const p = parseAddress(address);
    if (!p || isLoopback(p)) return false;
    const now = this.opts.clock.now();
    for (const [key, prefixes] of this.byLength) {
      const family = key >= 1000 ? 6 : 4;
      if (family !== p.family) continue;
      const bits = key % 1000;
      const hit = prefixes.get(addressPrefix(address, bits, bits));
      if (hit !== undefined && (hit === null || hit > now)) return true;
    }
    return false;
  }

  /** Throws `address_blocked` when a block in force covers the address. */
  assertNotBlocked(address: string): void {
    if (this.isBlocked(address)) throw new AppError('address_blocked');
  }

  /** Replaces the blocks held (entries that are not valid blocks are ignored). */
  replace(blocks: AddressBlock[]): void {
    const next = new Map<number, Map<string, number | null>>();
    for (const b of blocks) {
      const prefix = canonicalBlock(b.prefix);
      if (prefix === undefined) continue;
      const bits = Number(prefix.split('/')[1]);
      const key = (prefix.includes(':') ? 1000 : 0) + bits;
      let m = next.get(key);
      if (!m) next.set(key, (m = new Map<string, number | null>()));
      const old = m.get(prefix);
      m.set(prefix, old === null || b.until === null ? null : Math.max(old ?? 0, b.until));
    }
    this.byLength = next;
  }

  /** Reloads the blocks in force through `load` (none given: nothing to do). */
  async refresh(): Promise<void> {
    if (this.opts.load) this.replace(await this.opts.load());
  }

  /** Refreshes now and then every `refreshMs` (default 10 s), for blocks other nodes set. */
  async start(): Promise<void> {
    await this.refresh();
    if (this.stopTimer || !this.opts.timers) return;
    this.stopTimer = this.opts.timers.setInterval(() => {
      this.refresh().catch((e: unknown) => this.opts.log?.warn({ err: e }, 'address blocks refresh failed'));
    }, this.opts.refreshMs ?? 10_000);
  }

  /** Stops the refresh timer. */
  stop(): void {
    this.stopTimer?.();
    this.stopTimer = undefined;
  }
}
