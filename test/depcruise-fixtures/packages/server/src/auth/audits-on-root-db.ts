// expect-scan: audit-in-change-tx
import { audit } from '../audit/index.js';

declare const deps: { db: unknown };
declare function recordAudit(db: unknown, entry: { action: string }): Promise<void>;
export const disable = async (): Promise<void> => recordAudit(deps.db, { action: 'user.disabled' + audit });
