import type { Clock, Logger } from '../core/index.js';
import type { Ed25519Signer, Sealer } from '../crypto/index.js';
import type { RateLimiter } from '../limits/index.js';
import type { Db } from '../store/index.js';
import type { LogCache } from './log-cache.js';

/** What the transparency use cases need, passed in by the composition root. */
export interface TransparencyDeps {
  db: Db;
  clock: Clock;
  /** Seals the organisation key's seed (server scope) and the audit records. */
  sealer: Sealer;
  log: Logger;
  /** Request budgets (`kt.device`); absent: not checked (unit tests). */
  limiter?: RateLimiter;
  /** The active organisation signing key, loaded once and cached. */
  orgSigner: OrgKeyCache;
  /** Leaf hashes and subtree roots read so far (append-only, so never stale). */
  logCache: LogCache;
}

/** An organisation signing key ready to sign. */
export interface ActiveOrgKey {
  keyId: string;
  signer: Ed25519Signer;
}

/** The cache of the active organisation key (implemented by `OrgSigner`). */
export interface OrgKeyCache {
  /** The active key, loaded or created on first need. */
  current(deps: TransparencyDeps): Promise<ActiveOrgKey>;
  /** Drops the cached key. */
  forget(): void;
  /** Caches `key` as the active one. */
  use(key: ActiveOrgKey): void;
}
