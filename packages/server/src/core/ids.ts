declare const brand: unique symbol;
/** A string id branded by what it names, so a user id cannot be passed as a conversation id. */
export type Branded<T extends string> = string & { readonly [brand]: T };
export type UserId = Branded<'user'>;
export type DeviceId = Branded<'device'>;
export type SessionId = Branded<'session'>;
export type ConversationId = Branded<'conversation'>;

/** Id generator; production uses random UUIDs, tests may pass a deterministic one. */
export interface IdGen {
  next(): string;
}
