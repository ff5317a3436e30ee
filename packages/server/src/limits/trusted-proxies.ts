import { parseAddress, type ParsedAddress } from './address.js';

interface Block {
  net: ParsedAddress;
  bits: number;
}

function inBlock(a: ParsedAddress, b: Block): boolean {
  if (a.family !== b.net.family) return false;
  for (let bit = 0; bit < b.bits; bit += 8) {
    const left = Math.min(8, b.bits - bit);
    const mask = (0xff << (8 - left)) & 0xff;
    if (((a.bytes[bit / 8] ?? 0) & mask) !== ((b.net.bytes[bit / 8] ?? 0) & mask)) return false;
  }
  return true;
}

/**
 * The reverse proxies whose `X-Forwarded-For` is believed (config `server.trustProxy`). With none
 * (the default) the client address is always the socket's peer.
 * SECURITY: the header is read from the right, one hop at a time, and only while the hop that wrote
 * it is trusted: a client can prepend anything, but cannot forge what the trusted proxy appended.
 */
export class TrustedProxies {
  private readonly blocks: Block[];

  /** `cidrs`: addresses or CIDR blocks, already validated by the config schema; unparsable entries are skipped. */
  constructor(cidrs: readonly string[]) {
    this.blocks = cidrs.flatMap((c) => {
      const [addr = '', bits] = c.split('/');
      const net = parseAddress(addr);
      if (!net) return [];
      const max = net.family === 4 ? 32 : 128;
      // An IPv4-mapped block (::ffff:10.0.0.0/104) is its IPv4 block.
      const n = bits === undefined ? max : net.family === 4 && addr.includes(':') ? Number(bits) - 96 : Number(bits);
      return n >= 1 && n <= max ? [{ net, bits: n }] : [];
    });
  }

  /** True when no proxy is trusted. */
  get none(): boolean {
    return this.blocks.length === 0;
  }

  /** True when `address` is one of the trusted proxies. */
  trusts(address: string): boolean {
    const a = parseAddress(address);
    return a !== undefined && this.blocks.some((b) => inBlock(a, b));
  }

  /** The client's address: the peer, or the nearest untrusted hop that the trusted proxies reported. */
  clientAddress(peer: string, forwardedFor: string | string[] | undefined): string {
    if (this.none || forwardedFor === undefined || !this.trusts(peer)) return peer;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map((h) => h.trim());
    let current = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i] as string;
      // A malformed entry ends the walk: the last hop a trusted proxy vouched for is the answer.
      if (parseAddress(hop) === undefined) return current;
      current = hop;
      if (!this.trusts(hop)) return hop;
    }
    return current;
  }
}
