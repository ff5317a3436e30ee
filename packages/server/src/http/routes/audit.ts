import { Readable } from 'node:stream';
import { AuditQuery } from '@palisade/protocol';
import { exportAudit, queryAudit, type AuditAccess } from '../../audit/index.js';
import type { Principal } from '../../core/index.js';
import { accountCan } from '../../rbac/index.js';
import type { HttpDeps } from '../deps.js';
import { route } from '../route.js';

/** What the principal may do with the audit trail (rbac decides; the audit module applies it). */
function accessOf(deps: HttpDeps, principal: Principal, address: string): AuditAccess {
  return {
    actorId: principal.userId,
    read: accountCan(principal.roles, 'audit.read'),
    export: accountCan(principal.roles, 'audit.export'),
    address,
    now: deps.auth.clock.now(),
  };
}

/** The audit trail: filtered reads (`audit.read`) and the NDJSON export (`audit.export`), both audited. */
export const auditRoutes = [
  route({
    method: 'GET',
    url: '/v1/audit',
    access: 'audit.read',
    summary: 'Audit records in chain order, filtered by actor, action, target and time (?after= pages)',
    query: AuditQuery,
    handler: async ({ deps, principal, query, address }) =>
      queryAudit(deps.auth.db, deps.auth.sealer, accessOf(deps, principal, address), query),
  }),
  route({
    method: 'GET',
    url: '/v1/audit/export',
    access: 'audit.export',
    summary: 'Every audit record matching the filter, one JSON object a line (sealed fields need audit.read too)',
    query: AuditQuery,
    handler: async ({ deps, principal, query, address, reply }) => {
      const records = exportAudit(deps.auth.db, deps.auth.sealer, accessOf(deps, principal, address), query);
      // The first record is pulled before the reply starts, so a refusal is still a proper error.
      const first = await records.next();
      async function* lines() {
        if (!first.done) yield `${JSON.stringify(first.value)}\n`;
        for await (const r of records) yield `${JSON.stringify(r)}\n`;
      }
      return reply.type('application/x-ndjson').send(Readable.from(lines()));
    },
  }),
];
