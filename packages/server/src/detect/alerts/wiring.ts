import type { AlertsConfig } from '../../config/index.js';
import type { Bus, Clock, Logger, Timers } from '../../core/index.js';
import type { Sealer } from '../../crypto/index.js';
import type { Db } from '../../store/index.js';
import { Alerter } from './alerter.js';
import { createAlertChannels } from './channels/index.js';
import { DeliveryWorker } from './delivery-worker.js';

/** What `createAlerts` needs: the store, the sealer, the bus, time, and the environment for secret:// references. */
export interface AlertsWiring {
  db: Db;
  sealer: Sealer;
  bus: Bus;
  clock: Clock;
  timers: Timers;
  log: Logger;
  env?: NodeJS.ProcessEnv;
}

/**
 * The alerts subsystem from the `alerts` configuration: an Alerter (call `raise` with findings) and
 * its DeliveryWorker (call `start()` at start, `close()` at shutdown). Throws when a channel's
 * secret:// reference does not resolve, or its caFile cannot be read.
 */
export function createAlerts(config: AlertsConfig, w: AlertsWiring): { alerter: Alerter; worker: DeliveryWorker } {
  const log = w.log.child({ module: 'alerts' });
  const channels = createAlertChannels(config, { clock: w.clock, ...(w.env ? { env: w.env } : {}) });
  const alerter = new Alerter({
    db: w.db,
    sealer: w.sealer,
    bus: w.bus,
    clock: w.clock,
    log,
    channels: config.channels,
    groupWindowMinutes: config.groupWindowMinutes,
  });
  const worker = new DeliveryWorker({
    db: w.db,
    sealer: w.sealer,
    clock: w.clock,
    timers: w.timers,
    log,
    channels,
    bus: w.bus,
    maxAgeHours: config.maxAgeHours,
    maxBackoffMinutes: config.maxBackoffMinutes,
  });
  return { alerter, worker };
}
