import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuthDeps } from '../auth/index.js';
import { LocalKms, randomKey } from '../crypto/index.js';
import { EnvelopeSealer } from '../keys/index.js';
import { InProcessBus } from '../cluster/index.js';
import { FakeClock, silentLogger, type DomainEvent } from '../core/index.js';
import { RateLimiter } from '../limits/index.js';
import { CursorWriter, Outbox, SendQueue, type MessagingDeps } from '../messaging/index.js';
import { sendGate, type E2eeDeps } from '../e2ee/index.js';
import type { Store } from '../store/index.js';
import { LogCache, OrgSigner, type TransparencyDeps } from '../transparency/index.js';

/**
 * Domain dependencies over a real store, with a fake clock and a recording bus.
 * `e2eeRequired` defaults to FALSE here, for the legacy tests that send arbitrary payloads; every
 * test of end-to-end encryption passes `{ e2eeRequired: true }`.
 */
export async function testDeps(store: Store, clock = new FakeClock(), opts: { e2eeRequired?: boolean } = {}) {
  const required = opts.e2eeRequired ?? false;
  const bus = new InProcessBus();
  const events: DomainEvent[] = [];
  bus.subscribe('*', (e) => events.push(e));
  const limiter = new RateLimiter(clock);
  const outbox = new Outbox(store.db, bus, silentLogger, () => clock.now());
  const sealer = new EnvelopeSealer(store.db, kmsFor(store), clock);
  await sealer.prepareServerScopes(); // as the server does at start
  const auth: AuthDeps = {
    db: store.db,
    clock,
    bus,
    limiter,
    log: silentLogger,
    policy: {
      sessionTtlMs: 24 * 3_600_000,
      idleTimeoutMs: 3_600_000,
      enrolmentTokenTtlMs: 3_600_000,
      argon2: { memoryKiB: 47104, iterations: 1 },
      mfaGraceMs: 72 * 3_600_000,
      maxFactorFailures: 100,
      stepUpWindowMs: 10 * 60_000,
      loginChallengeTtlMs: 5 * 60_000,
    },
    sealer,
    rp: { id: 'localhost', name: 'Palisade test', origins: ['https://localhost:8443'] },
  };
  const messaging: MessagingDeps = {
    db: store.db,
    clock,
    bus,
    limiter,
    outbox,
    log: silentLogger,
    sends: new SendQueue(store.db),
    cursors: new CursorWriter(store.db, silentLogger),
    sealer: auth.sealer,
    sealPayloads: true,
    gate: sendGate(required),
  };
  const e2ee: E2eeDeps = { messaging, required };
  const transparency: TransparencyDeps = {
    db: store.db,
    clock,
    sealer,
    log: silentLogger,
    limiter,
    orgSigner: new OrgSigner(),
    logCache: new LogCache(),
  };
  return { auth, messaging, e2ee, transparency, clock, events, bus, kms: kmsFor(store) };
}

const kmsByStore = new WeakMap<Store, LocalKms>();

/** One KMS per store, as in production: every data key in a store is wrapped by the same KMS. */
function kmsFor(store: Store): LocalKms {
  let kms = kmsByStore.get(store);
  if (!kms)
    kmsByStore.set(
      store,
      (kms = new LocalKms(join(mkdtempSync(join(tmpdir(), 'palisade-keys-')), 'keyring.json'), randomKey(32))),
    );
  return kms;
}
