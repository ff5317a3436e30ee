import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../core/index.js';
import { LocalKms, randomKey } from '../crypto/index.js';
import { EnvelopeSealer } from '../keys/index.js';
import type { Db } from '../store/index.js';

/** A sealer over `db` with its server scopes prepared (as the server does at start), for audit tests. */
export async function auditSealer(db: Db, clock = new FakeClock()): Promise<EnvelopeSealer> {
  const kms = new LocalKms(join(mkdtempSync(join(tmpdir(), 'palisade-audit-')), 'keyring.json'), randomKey(32), () =>
    clock.now(),
  );
  const sealer = new EnvelopeSealer(db, kms, clock);
  await sealer.prepareServerScopes();
  return sealer;
}
