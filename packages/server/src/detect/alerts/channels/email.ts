import { readFileSync } from 'node:fs';
import { createTransport } from 'nodemailer';
import type { AlertChannelConfig } from '../../../config/index.js';
import type { Secret } from '../../../core/index.js';
import type { AlertPayload } from '../model.js';
import type { AlertChannel } from './types.js';

/** A validated e-mail channel configuration. */
export type EmailChannelConfig = Extract<AlertChannelConfig, { type: 'email' }>;

const oneLine = (s: string): string => s.replace(/[\r\n]+/g, ' ');

/** The plain-text body of an alert e-mail. */
export function alertEmailText(p: AlertPayload): string {
  return [
    `Rule: ${p.ruleId}`,
    `Severity: ${p.severity}`,
    `Subject: ${p.subject.kind} ${p.subject.id}`,
    `State: ${p.state}`,
    `Findings: ${p.count}`,
    `First: ${new Date(p.firstAt).toISOString()}`,
    `Last: ${new Date(p.lastAt).toISOString()}`,
    ...(p.drill !== undefined ? [`Drill: ${p.drill}`] : []),
    `Alert: ${p.id}`,
    '',
    p.explanation,
    '',
  ].join('\n');
}

/**
 * An alert channel that sends e-mail through an SMTP relay (nodemailer), implicit TLS or STARTTLS
 * (required by default). SECURITY: the password comes from a secret:// reference; certificates are verified.
 */
export function emailChannel(c: EmailChannelConfig, password: Secret<string> | undefined): AlertChannel {
  const ca = c.caFile === undefined ? undefined : readFileSync(c.caFile, 'utf8');
  const ms = c.timeoutSeconds * 1000;
  const transport = createTransport({
    host: c.host,
    port: c.port,
    secure: c.secure,
    requireTLS: !c.secure && c.starttls === 'required',
    ignoreTLS: !c.secure && c.starttls === 'off',
    ...(c.user !== undefined && password !== undefined ? { auth: { user: c.user, pass: password.reveal() } } : {}),
    tls: { minVersion: 'TLSv1.2', ...(ca !== undefined ? { ca } : {}) },
    connectionTimeout: ms,
    greetingTimeout: ms,
    socketTimeout: ms,
    logger: false,
  });
  return {
    name: c.name,
    type: 'email',
    async send(p) {
      await transport.sendMail({
        from: c.from,
        to: c.to,
        subject: oneLine(`[Palisade ${p.severity}] ${p.title}`),
        text: alertEmailText(p),
      });
    },
    close() {
      transport.close();
      return Promise.resolve();
    },
  };
}
