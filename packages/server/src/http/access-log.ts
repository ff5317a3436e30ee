import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isAppError, type AuthMethod, type Logger, type Metrics, type Principal } from '../core/index.js';

/** The principal each request authenticated as, for its log line (weak: gone with the request). */
const principals = new WeakMap<FastifyRequest, Principal>();

/** Remembers who a request authenticated as, for the access log. */
export function rememberPrincipal(req: FastifyRequest, principal: Principal): void {
  principals.set(req, principal);
}

/**
 * One log line and one metrics sample per HTTP request: request id, method, route PATTERN (never the
 * raw URL, which may carry ids or a token in its query), status, milliseconds and principal id.
 * SECURITY: no header, no query string, no body is logged (ASVS 16.2.5).
 */
export function registerAccessLog(app: FastifyInstance, log: Logger, metrics: Metrics | undefined): void {
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const ms = reply.elapsedTime;
    const principal = principals.get(req);
    log.info(
      {
        event: 'http',
        reqId: req.id,
        method: req.method,
        route,
        status: reply.statusCode,
        ms: Math.round(ms * 10) / 10,
        principal: principal?.userId ?? null,
      },
      'request',
    );
    metrics?.httpRequest(req.method, route, reply.statusCode, ms / 1000);
  });
}

/** Routes that authenticate someone, and how (the `method` label of `palisade_authentications_total`). */
const AUTH_ROUTES: Readonly<Record<string, AuthMethod>> = {
  '/v1/login': 'password',
  '/v1/login/mfa': 'mfa',
  '/v1/login/passkey': 'passkey',
  '/v1/sso/complete': 'sso',
  '/v1/step-up': 'step_up',
  '/v1/step-up/passkey': 'step_up',
};

/**
 * Counts the outcome of an authenticating route: `success`, `mfa_required`, `pending` (SSO not finished
 * yet), or the error code (a closed catalogue). Other routes count nothing here.
 */
export function countAuthentication(metrics: Metrics | undefined, url: string, result: unknown, error?: unknown): void {
  const method = AUTH_ROUTES[url];
  if (!metrics || !method) return;
  metrics.authentication(method, error !== undefined ? outcomeOf(error) : successOutcome(result));
}

/** The outcome label of a failed authentication: the AppError code, else `internal`. */
export function outcomeOf(error: unknown): string {
  return isAppError(error) ? error.code : 'internal';
}

function successOutcome(result: unknown): string {
  const r = result as { mfaRequired?: unknown; pending?: unknown } | undefined;
  if (r?.mfaRequired === true) return 'mfa_required';
  if (r?.pending === true) return 'pending';
  return 'success';
}
