/**
 * RFC 5424 syslog messages and RFC 6587 octet-counting frames (also RFC 5425's framing over TLS).
 * `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID k="v" ...] MSG`.
 */

/** Syslog severities (RFC 5424 table 2). */
export const SYSLOG_SEVERITY = {
  emerg: 0,
  alert: 1,
  crit: 2,
  err: 3,
  warning: 4,
  notice: 5,
  info: 6,
  debug: 7,
} as const;

/**
 * A header field: printable US-ASCII without spaces (33-126), at most `max` characters; anything else
 * becomes `_`, and an empty field is the NILVALUE `-`.
 */
export function headerField(v: string | undefined, max: number): string {
  if (v === undefined || v === '') return '-';
  return [...v]
    .map((c) => (c.charCodeAt(0) >= 33 && c.charCodeAt(0) <= 126 && c.length === 1 ? c : '_'))
    .join('')
    .slice(0, max);
}

/** An SD-NAME (SD-ID or PARAM-NAME): printable ASCII except space, `=`, `]` and `"`; at most 32 characters. */
export function sdName(v: string): string {
  const s = [...v]
    .map((c) => (/^[!-~]$/.test(c) && !'= ]"'.includes(c) ? c : '_'))
    .join('')
    .slice(0, 32);
  return s === '' ? '_' : s;
}

/** Escapes an SD-PARAM value: `"`, `\` and `]` are backslash-escaped (RFC 5424 section 6.3.3). */
export function sdEscape(v: string): string {
  return v.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** One syslog message. */
export interface SyslogMessage {
  /** Facility number 0-23. */
  facility: number;
  /** Severity number 0-7. */
  severity: number;
  /** UTC ms. */
  at: number;
  hostname?: string;
  appName?: string;
  procId?: string;
  msgId?: string;
  /** Structured data: SD-ID to its parameters. */
  structuredData?: Record<string, Record<string, string | number>>;
  msg: string;
}

/** Encodes an RFC 5424 message (the MSG part is UTF-8 text, given as is). */
export function encodeSyslog(m: SyslogMessage): string {
  if (!Number.isInteger(m.facility) || m.facility < 0 || m.facility > 23) throw new Error('facility must be 0-23');
  if (!Number.isInteger(m.severity) || m.severity < 0 || m.severity > 7) throw new Error('severity must be 0-7');
  const pri = m.facility * 8 + m.severity;
  const ts = new Date(m.at).toISOString();
  const sd = Object.entries(m.structuredData ?? {})
    .map(([id, params]) => {
      const ps = Object.entries(params).map(([k, v]) => ` ${sdName(k)}="${sdEscape(String(v))}"`);
      return `[${sdName(id)}${ps.join('')}]`;
    })
    .join('');
  const header = [
    `<${pri}>1`,
    ts,
    headerField(m.hostname, 255),
    headerField(m.appName, 48),
    headerField(m.procId, 128),
    headerField(m.msgId, 32),
    sd === '' ? '-' : sd,
  ].join(' ');
  return m.msg === '' ? header : `${header} ${m.msg}`;
}

/** RFC 6587 section 3.4.1 octet counting: `MSG-LEN SP SYSLOG-MSG`, the length in bytes of UTF-8. */
export function octetFrame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

/**
 * Splits a stream buffer into complete octet-counted frames; returns them and the unconsumed rest.
 * Throws on a malformed length (a receiver then closes the connection).
 */
export function parseOctetFrames(buf: Buffer): { frames: string[]; rest: Buffer } {
  const frames: string[] = [];
  let off = 0;
  for (;;) {
    const sp = buf.indexOf(0x20, off);
    if (sp < 0) break;
    const len = buf.subarray(off, sp).toString('ascii');
    if (!/^[1-9][0-9]{0,8}$/.test(len)) throw new Error(`bad octet count ${JSON.stringify(len)}`);
    const end = sp + 1 + Number(len);
    if (end > buf.length) break;
    frames.push(buf.subarray(sp + 1, end).toString('utf8'));
    off = end;
  }
  return { frames, rest: buf.subarray(off) };
}
