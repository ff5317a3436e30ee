import { isIP } from 'node:net';

/**
 * True for a loopback peer: 127.0.0.0/8, ::1, and 127.x mapped into IPv6 (`::ffff:127.0.0.1`).
 * SECURITY: used on the socket's own remote address, never on a header a client can write.
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.toLowerCase();
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return isIP(a) === 6 && (a === '::1' || a === '0:0:0:0:0:0:0:1');
}

/**
 * True when a Host header names this machine's loopback (`localhost`, 127.x, `[::1]`, with any port).
 * SECURITY: refuses DNS rebinding, where a web page's own name is pointed at 127.0.0.1 so that a
 * browser on this machine reads a loopback-only listener as that page's origin.
 */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  if (host === undefined) return false;
  const h = host.toLowerCase();
  const name = h.startsWith('[') ? h.slice(1, h.indexOf(']')) : (h.split(':')[0] ?? '');
  return name === 'localhost' || isLoopbackAddress(name);
}
