import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../core/index.js';
import { LocalKms, randomKey, type Kms } from '../crypto/index.js';
import { EnvelopeSealer } from '../keys/index.js';
import type { Db } from '../store/index.js';

/** A sealer over `db` with its server scopes prepared (as the server does at start), for audit tests. */
export async function auditSealer(db: Db, clock = new FakeClock(), kms?: Kms): Promise<EnvelopeSealer> {
  kms ??= auditKms(clock);
  const sealer = new EnvelopeSealer(db, kms, clock);
  await sealer.prepareServerScopes();
  return sealer;
}

/** A local KMS in a fresh folder. */
export function auditKms(clock: FakeClock): Kms {
  return new LocalKms(join(mkdtempSync(join(tmpdir(), 'palisade-audit-')), 'keyring.json'), randomKey(32), () =>
    clock.now(),
  );
}
