import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AlertChannelConfig } from '../../../config/index.js';
import type { Clock, Secret } from '../../../core/index.js';
import { hmacSha256 } from '../../../crypto/index.js';
import type { AlertPayload } from '../model.js';
import type { AlertChannel } from './types.js';

/** A validated webhook channel configuration. */
export type WebhookChannelConfig = Extract<AlertChannelConfig, { type: 'webhook' }>;

/** The header carrying the signature. */
const SIGNATURE_HEADER = 'x-palisade-signature';

/**
 * The signature header value: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. A receiver
 * recomputes it over the raw body and refuses a stale `t` (replay).
 */
export function webhookSignature(secret: string, unixSeconds: number, body: string): string {
  const mac = hmacSha256(Buffer.from(secret, 'utf8'), Buffer.from(`${unixSeconds}.${body}`, 'utf8'));
  return `t=${unixSeconds},v1=${mac.toString('hex')}`;
}

/**
 * An alert channel that POSTs the alert as JSON (`{"type":"alert","alert":{...}}`), signed, to a URL.
 * 2xx is delivered; anything else, a redirect included, is a failure to retry.
 * SECURITY: the secret never leaves this closure; HTTPS verifies the server (system CAs or `caFile`).
 */
export function webhookChannel(c: WebhookChannelConfig, secret: Secret<string>, clock: Clock): AlertChannel {
  const ca = c.caFile === undefined ? undefined : readFileSync(c.caFile, 'utf8');
  const url = new URL(c.url);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return {
    name: c.name,
    type: 'webhook',
    send(p: AlertPayload): Promise<void> {
      const body = JSON.stringify({ type: 'alert', alert: p });
      const sig = webhookSignature(secret.reveal(), Math.floor(clock.now() / 1000), body);
      return new Promise<void>((resolve, reject) => {
        const req = request(
          url,
          {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
              'user-agent': 'palisade-alerts',
              [SIGNATURE_HEADER]: sig,
            },
            timeout: c.timeoutSeconds * 1000,
            ...(ca !== undefined ? { ca } : {}),
          },
          (res: IncomingMessage) => {
            res.resume();
            const status = res.statusCode ?? 0;
            res.once('end', () =>
              status >= 200 && status < 300 ? resolve() : reject(new Error(`webhook ${url.host}: HTTP ${status}`)),
            );
            res.once('error', (e) => reject(new Error(`webhook ${url.host}: ${e.message}`)));
          },
        );
        req.once('timeout', () => req.destroy(new Error('timed out')));
        req.once('error', (e) => reject(new Error(`webhook ${url.host}: ${e.message}`)));
        req.end(body);
      });
    },
  };
}
