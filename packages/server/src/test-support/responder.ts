import { ResponseSection } from '../config/index.js';
import { silentLogger, type Principal } from '../core/index.js';
import { randomId } from '../crypto/index.js';
import { AddressBlocks } from '../limits/index.js';
import type { Store } from '../store/index.js';
import { testDeps } from './deps.js';
import { makeUsers, uniqueName } from './users.js';
import type { Finding } from '../detect/index.js';
import { loadAddressBlocks, Responder } from '../detect/index.js';

/**
 * Playbooks that exercise every action on an account, a network and a service account (the tests
 * of the actions use them; the built-in defaults are milder since the security review and have their
 * own test in playbooks.test.ts).
 */
export const ACTION_TEST_PLAYBOOKS = {
  'auth.brute_force.account': {
    steps: [
      { action: 'throttle', forSeconds: 900 },
      { action: 'require_step_up', forSeconds: 3600 },
    ],
  },
  'auth.credential_stuffing': { steps: [{ action: 'block_network', forSeconds: 3600 }] },
  'auth.password_spraying': {
    steps: [
      { action: 'block_address', forSeconds: 3600 },
      { action: 'require_step_up', forSeconds: 86_400 },
    ],
  },
  'service_account.misuse': { steps: [{ action: 'suspend_service_account' }] },
};

/** A responder over a real store with a fake clock, a security admin (stepped up) and a member. */
export async function responderFixture(store: Store, config: Record<string, unknown> = {}) {
  const deps = await testDeps(store);
  const blocks = new AddressBlocks({
    clock: deps.clock,
    timers: deps.clock,
    load: () => loadAddressBlocks(store.db, deps.auth.sealer, deps.clock),
  });
  deps.auth.blocks = blocks;
  const [admin0, victim0, other0] = await makeUsers(
    deps.auth,
    [uniqueName('sec'), uniqueName('vic'), uniqueName('oth')],
    ['security_admin'],
  );
  const stepped = (p: Principal): Principal => ({ ...p, strongAuthAt: deps.clock.now() });
  const responder = new Responder({
    auth: deps.auth,
    db: store.db,
    sealer: deps.auth.sealer,
    clock: deps.clock,
    log: silentLogger,
    config: ResponseSection.parse({
      ...config,
      playbooks: { ...ACTION_TEST_PLAYBOOKS, ...((config.playbooks as object | undefined) ?? {}) },
    }),
    blocks,
    timers: deps.clock,
  });
  const finding = (f: Partial<Finding> & Pick<Finding, 'ruleId' | 'subject'>): Finding => ({
    id: randomId(),
    severity: 'high',
    at: deps.clock.now(),
    firstSeenAt: deps.clock.now() - 2000,
    explanation: 'test',
    evidence: {},
    ...f,
  });
  return {
    deps,
    blocks,
    responder,
    finding,
    admin: () => stepped(admin0!),
    victim: victim0!,
    other: () => stepped(other0!),
    store,
  };
}
