import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's softhsm2 package puts its PKCS#11 module. */
export const SOFTHSM_LIBRARY = process.env.PALISADE_TEST_PKCS11_LIBRARY ?? '/usr/lib/softhsm/libsofthsm2.so';

/** A SoftHSM2 token made for this test process. */
export interface SoftHsmToken {
  library: string;
  tokenLabel: string;
  pin: string;
  /** The SOFTHSM2_CONF a child process needs to see the same token. */
  conf: string;
}

let token: SoftHsmToken | undefined;

/**
 * Creates (once per process) a SoftHSM2 token in a fresh directory and points SOFTHSM2_CONF at it.
 * Returns undefined, with a message, when SoftHSM2 is not installed; throws instead when
 * PALISADE_REQUIRE_SERVICES=1 (as in CI, whose .ci/run installs the softhsm2 package).
 * Tests isolate themselves inside the one token by KEK label prefix.
 */
export function softHsmToken(): SoftHsmToken | undefined {
  if (token) return token;
  if (!existsSync(SOFTHSM_LIBRARY) || !hasUtil()) {
    const msg = `SoftHSM2 is not installed (${SOFTHSM_LIBRARY}; Debian package softhsm2)`;
    if (process.env.PALISADE_REQUIRE_SERVICES === '1')
      throw new Error(`${msg}, and PALISADE_REQUIRE_SERVICES=1: apt-get install softhsm2.`);
    console.warn(`${msg}: skipping the PKCS#11 provider tests.`);
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'palisade-softhsm-'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${dir}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  const pin = `pin-${process.pid}-${Date.now()}`;
  const tokenLabel = `palisade-test-${process.pid}`;
  execFileSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', tokenLabel, '--pin', pin, '--so-pin', `so-${pin}`],
    { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: 'pipe' },
  );
  token = { library: SOFTHSM_LIBRARY, tokenLabel, pin, conf };
  return token;
}

function hasUtil(): boolean {
  try {
    execFileSync('softhsm2-util', ['--version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}
