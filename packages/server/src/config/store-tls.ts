/**
 * The TLS policy for the PostgreSQL link (SECURITY-BASELINE "Transport", ASVS 12.3.x): which TLS mode a
 * store URL gets, and what is refused. Used by the config schema (so `palisade config check` and
 * `palisade serve` refuse the same things) and by the composition root.
 */

/** TLS modes for PostgreSQL. There is no `require`/`prefer`: TLS that does not verify the server is not offered. */
export const STORE_TLS_MODES = ['verify-full', 'verify-ca', 'disable'] as const;
export type StoreTlsMode = (typeof STORE_TLS_MODES)[number];

/** The `store.tls` section as the schema parses it. */
export interface StoreTlsInput {
  mode?: StoreTlsMode;
  ca?: string;
  cert?: string;
  key?: string;
  insecureAllowPlaintext: boolean;
}

/** What a PostgreSQL URL says about where it goes and which TLS it asks for. */
export interface PostgresUrlInfo {
  host: string;
  /** A unix socket or a loopback address: nothing crosses a network. */
  loopback: boolean;
  /** `sslmode` from the URL, if any. */
  sslmode?: string;
  /** Other TLS parameters found in the URL (refused: they belong in store.tls). */
  otherSslParams: string[];
}

const LOOPBACK_NAMES = new Set(['localhost', 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback']);

/** True for a host that is this machine: a unix socket path, localhost, 127.0.0.0/8 or ::1. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === '' || h.startsWith('/')) return true;
  if (LOOPBACK_NAMES.has(h)) return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  if (/^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  return h === '::1' || h === '0:0:0:0:0:0:0:1';
}

/** Reads host and TLS parameters from a postgres:// URL (a host= parameter wins, as in libpq). */
export function postgresUrlInfo(url: string): PostgresUrlInfo {
  const q = url.indexOf('?');
  const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const m = /^postgres(?:ql)?:\/\/(?:[^@/?]*@)?(\[[^\]]*\]|[^/?]*)/.exec(url);
  const authority = (m?.[1] ?? '').replace(/:\d*$/, '');
  const hosts = (params.get('host') ?? authority).split(',').map((h) => h.replace(/:\d*$/, '').replace(/^\[|\]$/g, ''));
  const sslmode = params.get('sslmode') ?? undefined;
  const otherSslParams = [...params.keys()].filter(
    (k) => k !== 'sslmode' && (k.startsWith('ssl') || k === 'uselibpqcompat'),
  );
  return {
    host: hosts.join(','),
    loopback: hosts.every(isLoopbackHost),
    ...(sslmode !== undefined ? { sslmode } : {}),
    otherSslParams,
  };
}

/** The effective TLS of a PostgreSQL store, or the problems that make the settings unusable. */
export function storeTlsDecision(
  url: string,
  tls: StoreTlsInput | undefined,
): { mode: StoreTlsMode; problems: { path: string; message: string }[] } {
  const info = postgresUrlInfo(url);
  const problems: { path: string; message: string }[] = [];
  const files = tls?.ca !== undefined || tls?.cert !== undefined || tls?.key !== undefined;
  if (info.otherSslParams.length > 0)
    problems.push({
      path: 'url',
      message: `remove ${info.otherSslParams.join(', ')} from the URL; give the files as store.tls.ca, store.tls.cert and store.tls.key`,
    });
  let fromUrl: StoreTlsMode | undefined;
  if (info.sslmode !== undefined) {
    if ((STORE_TLS_MODES as readonly string[]).includes(info.sslmode)) fromUrl = info.sslmode as StoreTlsMode;
    else
      problems.push({
        path: 'url',
        message: `sslmode=${info.sslmode} does not verify the server's certificate; use sslmode=verify-full (or store.tls.mode: verify-full) with store.tls.ca`,
      });
  }
  if (fromUrl && tls?.mode && fromUrl !== tls.mode)
    problems.push({
      path: 'tls.mode',
      message: `the URL says sslmode=${fromUrl} but store.tls.mode is ${tls.mode}; keep one of them`,
    });
  // verify-full is the default; only a link that never leaves the machine may default to no TLS.
  const mode = tls?.mode ?? fromUrl ?? (info.loopback && !files ? 'disable' : 'verify-full');
  if (mode === 'disable') {
    if (files)
      problems.push({
        path: 'tls',
        message: 'store.tls.mode is disable but TLS files are given; remove them or choose verify-full',
      });
    if (!info.loopback && tls?.insecureAllowPlaintext !== true) {
      problems.push({
        path: 'tls',
        message: `PostgreSQL at ${info.host} is not on this machine and the link would have no TLS: set store.tls.ca (TLS verify-full, the default), or, knowingly, store.tls.mode: disable with store.tls.insecureAllowPlaintext: true`,
      });
    }
  } else {
    if (tls?.ca === undefined)
      problems.push({
        path: 'tls.ca',
        message: `TLS ${mode} needs the CA certificate (PEM file) that signed the PostgreSQL server's certificate`,
      });
    if ((tls?.cert === undefined) !== (tls?.key === undefined))
      problems.push({
        path: 'tls',
        message: 'give both store.tls.cert and store.tls.key (client certificate), or neither',
      });
  }
  return { mode, problems };
}
