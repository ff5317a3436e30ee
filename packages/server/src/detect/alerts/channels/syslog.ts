import { readFileSync } from 'node:fs';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import { SYSLOG_FACILITIES, type AlertChannelConfig } from '../../../config/index.js';
import type { AlertPayload } from '../model.js';
import type { Severity } from '../../types.js';
import { encodeCef } from './cef.js';
import { encodeSyslog, octetFrame, SYSLOG_SEVERITY } from './rfc5424.js';
import type { AlertChannel } from './types.js';

/** A validated syslog channel configuration. */
export type SyslogChannelConfig = Extract<AlertChannelConfig, { type: 'syslog' }>;

/** An audit checkpoint as the audit module hands it to its `onCheckpoint` hook. */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  at: number;
  signature: string;
}

/** The SD-ID of Palisade's structured data (32473 is the enterprise number RFC 5612 sets aside for examples). */
const SD_ID = 'palisade@32473';

const SYSLOG_OF: Record<Severity, number> = {
  low: SYSLOG_SEVERITY.notice,
  medium: SYSLOG_SEVERITY.warning,
  high: SYSLOG_SEVERITY.err,
  critical: SYSLOG_SEVERITY.crit,
};
const CEF_OF: Record<Severity, number> = { low: 3, medium: 5, high: 8, critical: 10 };

/** The CEF line of an alert. */
export function alertCef(p: AlertPayload, productVersion = '0.1.0'): string {
  return encodeCef({
    vendor: 'Palisade',
    product: 'Palisade',
    version: productVersion,
    signatureId: p.ruleId,
    name: p.title,
    severity: CEF_OF[p.severity],
    extension: [
      ['externalId', p.id],
      ['cat', p.ruleId],
      ['rt', p.lastAt],
      ['start', p.firstAt],
      ['end', p.lastAt],
      ['cnt', p.count],
      ['msg', p.explanation],
      ['cs1Label', 'subject'],
      ['cs1', `${p.subject.kind}:${p.subject.id}`],
      ['cs2Label', 'state'],
      ['cs2', p.state],
      ...(p.drill !== undefined
        ? ([
            ['cs3Label', 'drill'],
            ['cs3', p.drill],
          ] as const)
        : []),
    ],
  });
}

/** The RFC 5424 message of an alert (CEF or JSON payload, per the channel's format). */
export function alertSyslogMessage(c: SyslogChannelConfig, p: AlertPayload, host = osHostname()): string {
  return encodeSyslog({
    facility: SYSLOG_FACILITIES.indexOf(c.facility),
    severity: SYSLOG_OF[p.severity],
    at: p.lastAt,
    hostname: c.hostname ?? host,
    appName: c.appName,
    procId: String(process.pid),
    msgId: 'alert',
    structuredData: { [SD_ID]: { alertId: p.id, ruleId: p.ruleId, severity: p.severity, count: p.count } },
    msg: c.format === 'cef' ? alertCef(p) : JSON.stringify(p),
  });
}

/** The RFC 5424 message of an audit checkpoint. */
export function checkpointSyslogMessage(c: SyslogChannelConfig, cp: AuditCheckpoint, host = osHostname()): string {
  const msg =
    c.format === 'cef'
      ? encodeCef({
          vendor: 'Palisade',
          product: 'Palisade',
          version: '0.1.0',
          signatureId: 'audit.checkpoint',
          name: 'Audit log checkpoint',
          severity: 1,
          extension: [
            ['rt', cp.at],
            ['cn1Label', 'seq'],
            ['cn1', cp.seq],
            ['cs1Label', 'hash'],
            ['cs1', cp.hash],
            ['cs2Label', 'signature'],
            ['cs2', cp.signature],
          ],
        })
      : JSON.stringify({ type: 'audit.checkpoint', ...cp });
  return encodeSyslog({
    facility: SYSLOG_FACILITIES.indexOf(c.facility),
    severity: SYSLOG_SEVERITY.info,
    at: cp.at,
    hostname: c.hostname ?? host,
    appName: c.appName,
    procId: String(process.pid),
    msgId: 'checkpoint',
    structuredData: { [SD_ID]: { seq: cp.seq, hash: cp.hash } },
    msg,
  });
}

/**
 * Sends one octet-counted frame on a fresh TCP or TLS connection and closes it; rejects on a
 * connection error, a TLS verification failure or the timeout. SECURITY: TLS verifies the server
 * certificate (system CAs, or `caFile`) and its name.
 */
export function sendSyslogFrame(c: SyslogChannelConfig, message: string, ca?: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = false;
    let sock: Socket;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        sock.destroy();
        reject(err);
      } else resolve();
    };
    const timer = setTimeout(() => finish(new Error(`syslog ${c.host}:${c.port}: timed out`)), c.timeoutSeconds * 1000);
    const write = () => sock.end(octetFrame(message), () => finish());
    if (c.transport === 'tls') {
      sock = tlsConnect({
        host: c.host,
        port: c.port,
        // SNI carries names only; with an IP host the certificate is checked against the IP.
        ...(c.serverName !== undefined || isIP(c.host) === 0 ? { servername: c.serverName ?? c.host } : {}),
        minVersion: 'TLSv1.2',
        ...(ca !== undefined ? { ca } : {}),
      });
      sock.once('secureConnect', write);
    } else {
      sock = netConnect({ host: c.host, port: c.port });
      sock.once('connect', write);
    }
    sock.once('error', (e) => finish(new Error(`syslog ${c.host}:${c.port}: ${e.message}`)));
    sock.once('close', () => finish(new Error(`syslog ${c.host}:${c.port}: closed before the frame was sent`)));
  });
}

/** An alert channel that writes RFC 5424 messages to a syslog receiver over TCP or TLS. */
export function syslogChannel(c: SyslogChannelConfig): AlertChannel {
  const ca = c.caFile === undefined ? undefined : readFileSync(c.caFile, 'utf8');
  return {
    name: c.name,
    type: 'syslog',
    send: (p) => sendSyslogFrame(c, alertSyslogMessage(c, p), ca),
  };
}

/**
 * A sink for audit checkpoints (the audit module's `onCheckpoint` hook): each is sent as one RFC 5424
 * message (CEF or JSON) to the syslog receiver of `config`. Rejects when the receiver did not take it.
 */
export function syslogCheckpointSink(config: SyslogChannelConfig): (checkpoint: AuditCheckpoint) => Promise<void> {
  const ca = config.caFile === undefined ? undefined : readFileSync(config.caFile, 'utf8');
  return (cp) => sendSyslogFrame(config, checkpointSyslogMessage(config, cp), ca);
}
