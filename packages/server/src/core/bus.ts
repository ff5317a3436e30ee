import type { DomainEvent, EventType } from './events.js';

/**
 * Publish/subscribe for domain events after commit. In-process by default; NATS when clustered.
 * Event types and their data come from the catalogue in `events.ts`.
 */
export interface Bus {
  publish(event: DomainEvent): void;
  /** Subscribes to one event type; the handler gets that type's data. Returns an unsubscribe function. */
  subscribe<K extends EventType>(type: K, handler: (event: DomainEvent<K>) => void): () => void;
  /** Subscribes to every event. Returns an unsubscribe function. */
  subscribe(type: '*', handler: (event: DomainEvent) => void): () => void;
}
