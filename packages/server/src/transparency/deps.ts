import type { Clock, Logger } from '../core/index.js';
import type { Sealer } from '../crypto/index.js';
import type { Db } from '../store/index.js';
import type { OrgSigner } from './org-key.js';

/** What the transparency use cases need, passed in by the composition root. */
export interface TransparencyDeps {
  db: Db;
  clock: Clock;
  /** Seals the organisation key's seed (server scope) and the audit records. */
  sealer: Sealer;
  log: Logger;
  /** The active organisation signing key, loaded once and cached. */
  orgSigner: OrgSigner;
}
