import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { authenticateServiceTokenDevice, authenticateToken, SERVICE_TOKEN_PREFIX } from '../auth/index.js';
import { AppError, isAppError, type Principal } from '../core/index.js';
import {
  ACCOUNT_PERMISSIONS,
  assertAccount,
  auditRefusal,
  type AccountPermission,
  type Permission,
} from '../rbac/index.js';
import type { HttpDeps } from './deps.js';
import { countAuthentication, outcomeOf, rememberPrincipal } from './access-log.js';
import { bodySha256 } from './body.js';
import { assertHttpProof, ProofReplayCache } from './proof.js';

/** Who may call a route: anyone, any signed-in device, or holders of a named permission. */
export type RouteAccess = 'public' | 'authenticated' | Permission;

/** What a handler receives once the pipeline has run. */
export interface RouteContext<B, Q, P> {
  deps: HttpDeps;
  principal: Principal;
  body: B;
  query: Q;
  params: P;
  address: string;
  /** The request headers (for the few public routes that read a cookie). */
  headers: FastifyRequest['headers'];
  /** The reply, for the few routes that redirect or set a cookie; once sent, the pipeline returns it. */
  reply: FastifyReply;
}

/**
 * One route's whole pipeline in one place: access rule, schemas, handler, success status.
 * Conversation-level permissions are checked again on the object inside the domain (BOLA).
 */
export interface RouteSpec<B = unknown, Q = unknown, P = unknown> {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  access: RouteAccess;
  summary: string;
  body?: z.ZodType<B>;
  query?: z.ZodType<Q>;
  params?: z.ZodType<P>;
  status?: number;
  handler(ctx: RouteContext<B, Q, P>): Promise<unknown>;
}

/** Helper that keeps a route's generic types together. */
export function route<B = undefined, Q = undefined, P = undefined>(spec: RouteSpec<B, Q, P>): RouteSpec<B, Q, P> {
  return spec;
}

const ACCOUNT_PERMS = new Set<string>(Object.values(ACCOUNT_PERMISSIONS).flat());

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return undefined as T;
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    throw new AppError('bad_request', `invalid ${where}`, {
      details: r.error.issues.map((i) => ({ path: [where, ...i.path].join('.'), message: i.message })),
    });
  }
  return r.data;
}

async function authenticate(deps: HttpDeps, req: FastifyRequest, replay: ProofReplayCache): Promise<Principal> {
  const h = req.headers.authorization;
  // SECURITY: tokens only in the Authorization header, never in the URL.
  if (!h?.startsWith('Bearer ')) throw new AppError('not_authenticated', 'send Authorization: Bearer <token>');
  const token = h.slice(7);
  // SECURITY: an unbound service token has no device key; it is bound instead by scopes, expiry, an optional
  // address allowlist and its own rate limit, and every use is audited. A device-bound one (a bot that is
  // an MLS member) must in addition prove every request with its device key, exactly as a session does.
  const session = token.startsWith(SERVICE_TOKEN_PREFIX)
    ? await authenticateServiceTokenDevice(deps.auth, token, req.ip)
    : await authenticateToken(deps.auth, token, req.ip);
  if (session.devicePublicKey === null) return session.principal;
  const proof = req.headers['x-palisade-proof'];
  // SECURITY: req.url is the target exactly as received (Fastify does not rewrite it), as the client signed it.
  const target = { method: req.method, url: req.url, token, bodySha256: bodySha256(req) };
  assertHttpProof(
    typeof proof === 'string' ? proof : undefined,
    target,
    { id: session.principal.deviceId, publicKey: session.devicePublicKey },
    deps.auth.clock.now(),
    replay,
  );
  return session.principal;
}

/**
 * SECURITY (issue 10, bots): the `authenticated` writes a DEVICE-BOUND service token may use besides the
 * rules of {@link assertServiceTokenRoute}: exactly what an MLS member needs for its own device (its
 * credential, its KeyPackages, claiming co-members' KeyPackages to commit, deleting its processed
 * Welcomes, gossiping its signed tree head). Every one acts on the token's own device, proven per request;
 * the group and commit routes are conversation-permission routes already, checked against the scopes.
 * Nothing else: an unbound token gets none of these, and no token may PATCH /v1/me, manage devices, etc.
 */
export const BOUND_SERVICE_TOKEN_ROUTES: ReadonlySet<string> = new Set([
  'POST /v1/e2ee/credential',
  'POST /v1/e2ee/kt/gossip',
  'POST /v1/mls/key-packages',
  'POST /v1/mls/key-packages/claim',
  'DELETE /v1/mls/welcomes/:id',
]);

/**
 * SECURITY (S14): the routes a service token may use: those whose permission is a conversation
 * permission (the domain checks it against the token's scopes on each object) and `authenticated`
 * reads; a device-bound token also the MLS member routes of {@link BOUND_SERVICE_TOKEN_ROUTES}.
 * Everything else is refused, in particular `authenticated` writes such as PATCH /v1/me.
 */
export function assertServiceTokenRoute(
  spec: Pick<RouteSpec, 'method' | 'access' | 'url'>,
  principal: Principal,
): void {
  if (principal.scopes === undefined) return;
  const scoped = spec.access !== 'public' && spec.access !== 'authenticated' && !ACCOUNT_PERMS.has(spec.access);
  if (scoped || (spec.access === 'authenticated' && spec.method === 'GET')) return;
  if (
    principal.deviceBound &&
    spec.access === 'authenticated' &&
    BOUND_SERVICE_TOKEN_ROUTES.has(`${spec.method} ${spec.url}`)
  )
    return;
  throw new AppError('forbidden', 'a service token cannot use this route: its scopes say what it may do');
}

/** The object id a refused request named (a path `:id`), if it looks like one; nothing else of the request. */
function targetOf(params: unknown): string | null {
  const id = (params as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : null;
}

/**
 * SECURITY (S15): a refused authorization (forbidden or not_found kind) of an authenticated caller is
 * audited, rate-limited per principal in rbac; a failure to audit never changes the answer.
 */
async function auditIfRefused(
  deps: HttpDeps,
  spec: RouteSpec<any, any, any>,
  req: FastifyRequest,
  principal: Principal | undefined,
  e: unknown,
): Promise<void> {
  if (!principal || !isAppError(e) || (e.kind !== 'forbidden' && e.kind !== 'not_found')) return;
  await auditRefusal(
    deps.rbac,
    principal,
    { code: e.code, operation: `${spec.method} ${spec.url}`, target: targetOf(req.params) },
    req.ip,
  ).catch((err: unknown) => {
    deps.log.error({ err }, 'could not audit a refused authorization');
  });
}

/** Registers routes on Fastify, running each through the pipeline. `replay` remembers used request proofs. */
export function registerRoutes(
  app: FastifyInstance,
  deps: HttpDeps,
  routes: RouteSpec<any, any, any>[],
  replay = new ProofReplayCache(),
): void {
  for (const spec of routes) {
    app.route({
      method: spec.method,
      url: spec.url,
      handler: async (req: FastifyRequest, reply: FastifyReply) => {
        if (deps.draining()) throw new AppError('shutting_down');
        // Pipeline order: authenticate, authorize (account level), validate, then the use case.
        let principal: Principal | undefined;
        try {
          if (spec.access !== 'public') {
            principal = await authenticate(deps, req, replay).catch((e: unknown) => {
              deps.metrics?.authentication('bearer', outcomeOf(e));
              throw e;
            });
            deps.metrics?.authentication('bearer', 'success');
            rememberPrincipal(req, principal);
            assertServiceTokenRoute(spec, principal);
            if (ACCOUNT_PERMS.has(spec.access)) assertAccount(principal, spec.access as AccountPermission);
          }
          const params = parse<unknown>(spec.params, req.params, 'params');
          const query = parse<unknown>(spec.query, req.query, 'query');
          const body = parse<unknown>(spec.body, req.body, 'body');
          const result = await spec.handler({
            deps,
            principal: principal as Principal,
            body,
            query,
            params,
            address: req.ip,
            headers: req.headers,
            reply,
          });
          countAuthentication(deps.metrics, spec.url, result);
          if (reply.sent) return reply;
          reply.code(spec.status ?? 200);
          return result ?? {};
        } catch (e) {
          // A failed bearer check was counted above; this counts what the authenticating route decided.
          if (spec.access === 'public' || principal !== undefined)
            countAuthentication(deps.metrics, spec.url, undefined, e);
          await auditIfRefused(deps, spec, req, principal, e);
          throw e;
        }
      },
    });
  }
}
