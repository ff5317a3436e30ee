import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/index.js';
import { silentLogger, type Clock } from '../core/index.js';
import { generateSelfSignedCertificate } from '../crypto/index.js';
import { buildHttpApp } from '../http/index.js';
import { buildCore, type Core } from '../server/index.js';

/** The real core on a fresh SQLite data directory and the HTTP app on it, for `app.inject` tests. */
export interface InjectableApp {
  core: Core;
  app: ReturnType<typeof buildHttpApp>;
  close(): Promise<void>;
}

/**
 * Builds the real core and HTTP app in process (no listener); `close()` stops both.
 * `e2eeRequired` defaults to FALSE here, for legacy tests that send arbitrary payloads.
 */
export async function injectableApp(
  prefix: string,
  opts: { clock?: Clock; e2eeRequired?: boolean } = {},
): Promise<InjectableApp> {
  const config = loadConfig({ env: { PALISADE_DATA_DIR: mkdtempSync(join(tmpdir(), `palisade-${prefix}-`)) } });
  config.e2ee.required = opts.e2eeRequired ?? false;
  const core = await buildCore(config, {}, { log: silentLogger, ...(opts.clock ? { clock: opts.clock } : {}) });
  const tls = await generateSelfSignedCertificate();
  const app = buildHttpApp(
    {
      auth: core.auth,
      messaging: core.messaging,
      e2ee: core.e2ee,
      rbac: core.rbac,
      transparency: core.transparency,
      log: silentLogger,
      ready: () => Promise.resolve({ ready: true, checks: {} }),
      draining: () => false,
    },
    { ...tls, minVersion: 'TLSv1.3' },
  );
  return {
    core,
    app,
    async close() {
      await app.close();
      await core.store.close();
    },
  };
}
