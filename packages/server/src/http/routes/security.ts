import { AlertsQuery, ContainmentsQuery, FindingsQuery, IdParams, ResolveAlertRequest } from '@palisade/protocol';
import { AppError } from '../../core/index.js';
import type { HttpDeps, SecurityConsole } from '../deps.js';
import { route } from '../route.js';

/** The console, or `detection_disabled` when detection is switched off in config. */
function consoleOf(deps: HttpDeps): SecurityConsole {
  if (!deps.security) throw new AppError('detection_disabled');
  return deps.security;
}

/** The security console: alerts, findings, containments in force, for security administrators. */
export const securityRoutes = [
  route({
    method: 'GET',
    url: '/v1/security/status',
    access: 'alert.manage',
    summary: 'Open alerts, recent findings, MTTD/MTTR per rule, containments in force, audit chain state',
    handler: async ({ deps }) => consoleOf(deps).status(),
  }),
  route({
    method: 'GET',
    url: '/v1/security/alerts',
    access: 'alert.manage',
    summary: 'Alerts, newest first (?state=open|acknowledged|resolved)',
    query: AlertsQuery,
    handler: async ({ deps, query }) => ({
      alerts: await consoleOf(deps).alerts({ limit: query.limit, ...(query.state ? { state: query.state } : {}) }),
    }),
  }),
  route({
    method: 'POST',
    url: '/v1/security/alerts/:id/acknowledge',
    access: 'alert.manage',
    summary: 'Acknowledge an alert (who and when are recorded)',
    params: IdParams,
    handler: async ({ deps, params, principal }) => consoleOf(deps).acknowledgeAlert(params.id, principal),
  }),
  route({
    method: 'POST',
    url: '/v1/security/alerts/:id/resolve',
    access: 'alert.manage',
    summary: 'Resolve an alert, with an optional note',
    params: IdParams,
    body: ResolveAlertRequest,
    handler: async ({ deps, params, principal, body }) => consoleOf(deps).resolveAlert(params.id, principal, body.note),
  }),
  route({
    method: 'GET',
    url: '/v1/security/findings',
    access: 'alert.manage',
    summary: 'Findings of the detection rules, newest first (?rule=)',
    query: FindingsQuery,
    handler: async ({ deps, query }) => ({
      findings: await consoleOf(deps).findings({ limit: query.limit, ...(query.rule ? { ruleId: query.rule } : {}) }),
    }),
  }),
  route({
    method: 'GET',
    url: '/v1/security/containments',
    access: 'alert.manage',
    summary: 'Containments (blocks, locks, revocations), with their state',
    query: ContainmentsQuery,
    handler: async ({ deps, query }) => ({
      containments: await consoleOf(deps).containments(query.state ? { state: query.state } : {}),
    }),
  }),
  route({
    method: 'POST',
    url: '/v1/security/containments/:id/approve',
    access: 'policy.manage',
    summary: 'Approve a containment that waits for approval (it runs now)',
    params: IdParams,
    handler: async ({ deps, params, principal }) => consoleOf(deps).approveContainment(params.id, principal),
  }),
  route({
    method: 'POST',
    url: '/v1/security/containments/:id/undo',
    access: 'policy.manage',
    summary: 'Undo a containment (unblock, unlock, resume)',
    params: IdParams,
    handler: async ({ deps, params, principal }) => consoleOf(deps).undoContainment(params.id, principal),
  }),
];
