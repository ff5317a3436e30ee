import { AppError } from '../../core/index.js';
import { route } from '../route.js';

/** Liveness and readiness probes. SECURITY: public, so readiness names only the failing component and a fixed reason (no driver message, host or secret). */
export const healthRoutes = [
  route({
    method: 'GET',
    url: '/healthz',
    access: 'public',
    summary: 'Liveness: the process answers',
    handler: () => Promise.resolve({ status: 'ok' }),
  }),
  route({
    method: 'GET',
    url: '/readyz',
    access: 'public',
    summary: 'Readiness: store, KMS and disk are usable and the server is not draining (503 names the failing check)',
    handler: async ({ deps }) => {
      if (deps.draining()) throw new AppError('shutting_down');
      const r = await deps.ready();
      if (!r.ready) {
        const failing = Object.entries(r.checks)
          .filter(([, c]) => !c.ok)
          .map(([name]) => name);
        throw new AppError(r.code ?? 'unavailable', `not ready: ${failing.join(', ')}`, {
          details: { checks: r.checks },
        });
      }
      return { status: 'ready', checks: r.checks };
    },
  }),
];
