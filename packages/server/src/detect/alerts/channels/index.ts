import type { AlertsConfig } from '../../../config/index.js';
import { resolveSecret } from '../../../config/index.js';
import type { Clock } from '../../../core/index.js';
import { emailChannel } from './email.js';
import { syslogChannel } from './syslog.js';
import type { AlertChannel } from './types.js';
import { webhookChannel } from './webhook.js';

/**
 * Builds the configured channels, resolving their secret:// references now (so a missing secret
 * stops the start, not the first alert).
 */
export function createAlertChannels(
  config: Pick<AlertsConfig, 'channels'>,
  deps: { clock: Clock; env?: NodeJS.ProcessEnv },
): AlertChannel[] {
  const env = deps.env ?? process.env;
  return config.channels.map((c) => {
    switch (c.type) {
      case 'webhook':
        return webhookChannel(c, resolveSecret(c.secret, env), deps.clock);
      case 'syslog':
        return syslogChannel(c);
      case 'email':
        return emailChannel(c, c.password === undefined ? undefined : resolveSecret(c.password, env));
    }
  });
}

export type { AlertChannel } from './types.js';
export { syslogCheckpointSink, type SyslogChannelConfig } from './syslog.js';
