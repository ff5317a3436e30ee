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
