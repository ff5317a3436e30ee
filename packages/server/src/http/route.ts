import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { authenticateServiceToken, authenticateToken, SERVICE_TOKEN_PREFIX } from '../auth/index.js';
import { AppError, type Principal } from '../core/index.js';
import { ACCOUNT_PERMISSIONS, assertAccount, type AccountPermission, type Permission } from '../rbac/index.js';
import type { HttpDeps } from './deps.js';
import { assertHttpProof } from './proof.js';

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
    throw new AppError('bad_request', `invalid ${where}`, { details: r.error.issues.map((i) => ({ path: [where, ...i.path].join('.'), message: i.message })) });
  }
  return r.data;
}

async function authenticate(deps: HttpDeps, req: FastifyRequest): Promise<Principal> {
  const h = req.headers.authorization;
  // SECURITY: tokens only in the Authorization header, never in the URL.
  if (!h?.startsWith('Bearer ')) throw new AppError('not_authenticated', 'send Authorization: Bearer <token>');
  // SECURITY: service tokens have no device key; they are bound instead by scopes, expiry, an optional
  // address allowlist and their own rate limit, and every use is audited.
  if (h.startsWith(`Bearer ${SERVICE_TOKEN_PREFIX}`)) return authenticateServiceToken(deps.auth, h.slice(7), req.ip);
  const session = await authenticateToken(deps.auth, h.slice(7), req.ip);
  const proof = req.headers['x-palisade-proof'];
  assertHttpProof(typeof proof === 'string' ? proof : undefined, req.method, req.url, session.devicePublicKey, deps.auth.clock.now());
  return session.principal;
}

/**
 * SECURITY (S14): the routes a service token may use: those whose permission is a conversation
 * permission (the domain checks it against the token's scopes on each object) and `authenticated`
 * reads. Everything else is refused, in particular `authenticated` writes such as PATCH /v1/me.
 */
export function assertServiceTokenRoute(spec: Pick<RouteSpec, 'method' | 'access'>, principal: Principal): void {
  if (principal.scopes === undefined) return;
  const scoped = spec.access !== 'public' && spec.access !== 'authenticated' && !ACCOUNT_PERMS.has(spec.access);
  if (scoped || (spec.access === 'authenticated' && spec.method === 'GET')) return;
  throw new AppError('forbidden', 'a service token cannot use this route: its scopes say what it may do');
}

/** Registers routes on Fastify, running each through the pipeline. */
export function registerRoutes(app: FastifyInstance, deps: HttpDeps, routes: RouteSpec<any, any, any>[]): void {
  for (const spec of routes) {
    app.route({
      method: spec.method,
      url: spec.url,
      handler: async (req: FastifyRequest, reply: FastifyReply) => {
        if (deps.draining()) throw new AppError('shutting_down');
        // Pipeline order: authenticate, authorize (account level), validate, then the use case.
        let principal = undefined as unknown as Principal;
        if (spec.access !== 'public') {
          principal = await authenticate(deps, req);
          assertServiceTokenRoute(spec, principal);
          if (ACCOUNT_PERMS.has(spec.access)) assertAccount(principal, spec.access as AccountPermission);
        }
        const params = parse(spec.params, req.params, 'params');
        const query = parse(spec.query, req.query, 'query');
        const body = parse(spec.body, req.body, 'body');
        const result = await spec.handler({ deps, principal, body, query, params, address: req.ip });
        reply.code(spec.status ?? 200);
        return result ?? {};
      },
    });
  }
}
