/** A domain event, named past tense dotted (`message.sent`). */
export interface DomainEvent<T = unknown> {
  type: string;
  data: T;
}

/** Publish/subscribe for domain events after commit. In-process by default; NATS when clustered. */
export interface Bus {
  publish(event: DomainEvent): void;
  /** Subscribes to one event type, or `*` for all. Returns an unsubscribe function. */
  subscribe(type: string, handler: (event: DomainEvent) => void): () => void;
}
