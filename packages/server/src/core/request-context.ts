import { AsyncLocalStorage } from 'node:async_hooks';

/** Facts about the request being served that lower layers may read without being passed them. */
export interface RequestContext {
  /**
   * The id of the drill this request belongs to, set by the transport only after it checked the
   * drill's token. SECURITY: it labels records and signals; it never suppresses detection or response.
   */
  drill?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `fn` with `ctx` as the current request context (for everything it awaits). */
export function withRequestContext<T>(ctx: RequestContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

/** The drill id of the current request, if it is drill traffic. */
export function currentDrill(): string | undefined {
  return storage.getStore()?.drill;
}
