// Types of scripts/arch-check.mjs for the TypeScript tests that import it (auth/audit-atomicity.test.ts).
/** One problem the checker found. */
export interface ArchProblem {
  rule: string;
  file?: string;
  line?: number;
  detail?: string;
}
/** Per file (relative to packages/server/src), the failure-audit actions allowed on the root db. */
export const ROOT_AUDIT_ALLOWED: Record<string, string[]>;
/** Root-db audit records of changes in one source text. */
export function scanRootAudit(file: string, text: string, used?: Set<string>): ArchProblem[];
/** Every check: the fixtures fire their rules and the scans of the real tree are clean. */
export function runChecks(): ArchProblem[];
