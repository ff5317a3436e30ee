/**
 * ArcSight Common Event Format (CEF) version 0, as SIEMs read it:
 * `CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|key=value key=value`.
 * Header fields escape `\` and `|`; extension values escape `\`, `=`, CR and LF; keys are alphanumeric.
 */

/** Escapes a CEF header field: `\` and `|` are backslash-escaped; line breaks become spaces (not allowed). */
export function cefEscapeHeader(v: string): string {
  return v.replace(/[\\|]/g, (c) => `\\${c}`).replace(/\r\n|[\r\n]/g, ' ');
}

/** Escapes a CEF extension value: `\`, `=` backslash-escaped; CR and LF as `\r` and `\n`. */
export function cefEscapeValue(v: string): string {
  return v.replace(/[\\=\r\n]/g, (c) => (c === '\r' ? '\\r' : c === '\n' ? '\\n' : `\\${c}`));
}

/** A CEF event: the header fields and the extension (keys `[A-Za-z0-9]+`, values of any text). */
export interface CefEvent {
  vendor: string;
  product: string;
  version: string;
  signatureId: string;
  name: string;
  /** 0 (lowest) to 10. */
  severity: number;
  extension: ReadonlyArray<readonly [string, string | number]>;
}

/** Encodes a CEF event into one line (no line breaks: every CR and LF is escaped or replaced). */
export function encodeCef(e: CefEvent): string {
  const sev = Math.min(10, Math.max(0, Math.round(e.severity)));
  const header = [e.vendor, e.product, e.version, e.signatureId, e.name].map(cefEscapeHeader).join('|');
  const ext = e.extension
    .map(([k, v]) => {
      if (!/^[A-Za-z0-9]+$/.test(k)) throw new Error(`CEF extension key ${JSON.stringify(k)} is not alphanumeric`);
      return `${k}=${cefEscapeValue(String(v))}`;
    })
    .join(' ');
  return `CEF:0|${header}|${sev}|${ext}`;
}
