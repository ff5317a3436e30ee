import { AppError } from '../../core/index.js';
import { route } from '../route.js';

/** Liveness and readiness probes (no secrets, no details). */
export const healthRoutes = [
  route({ method: 'GET', url: '/healthz', access: 'public', summary: 'Liveness: the process answers', handler: () => Promise.resolve({ status: 'ok' }) }),
  route({
    method: 'GET', url: '/readyz', access: 'public', summary: 'Readiness: the store answers and the server is not draining',
    handler: async ({ deps }) => {
      if (deps.draining()) throw new AppError('shutting_down');
      if (!(await deps.ready())) throw new AppError('unavailable', 'store not reachable');
      return { status: 'ready' };
    },
  }),
];
