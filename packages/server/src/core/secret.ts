import { inspect } from 'node:util';

const REDACTED = '[REDACTED]';

/**
 * Holds a secret value. Printing, logging or JSON-serialising it shows `[REDACTED]`;
 * only `reveal()` returns the value.
 * SECURITY: never log `reveal()`; pass the Secret itself as far as possible.
 */
export class Secret<T> {
  readonly #value: T;
  constructor(value: T) {
    this.#value = value;
  }
  /** The secret value. Use at the point of need only. */
  reveal(): T {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
}
