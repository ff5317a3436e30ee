import type { Bus, DomainEvent, Logger } from '../core/index.js';

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

  subscribe(type: string, handler: (event: DomainEvent) => void): () => void {
    let set = this.handlers.get(type);
    if (!set) this.handlers.set(type, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }
}
