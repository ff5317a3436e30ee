import type { Bus, DomainEvent, EventType, Logger } from '../core/index.js';

/**
 * The default Bus: synchronous fan-out inside one process.
 * A throwing subscriber is logged and does not stop the others.
 */
export class InProcessBus implements Bus {
  private readonly handlers = new Map<string, Set<(e: DomainEvent) => void>>();

  constructor(private readonly log?: Logger) {}

  publish(event: DomainEvent): void {
    for (const key of [event.type, '*']) {
      const set = this.handlers.get(key);
      if (!set) continue;
      for (const h of set) {
        try {
          h(event);
        } catch (e) {
          this.log?.error({ err: e, event: event.type }, 'bus subscriber failed');
        }
      }
    }
  }

  subscribe<K extends EventType>(type: K | '*', handler: (event: DomainEvent<K>) => void): () => void {
    let set = this.handlers.get(type);
    if (!set) this.handlers.set(type, (set = new Set()));
    // The handler is only ever called with events of `type` (publish looks it up by `event.type`).
    const h = handler as (e: DomainEvent) => void;
    set.add(h);
    return () => set.delete(h);
  }
}
