declare const brand: unique symbol;
/** A string id branded by what it names, so a user id cannot be passed as a device id. */
export type Branded<T extends string> = string & { readonly [brand]: T };
export type UserId = Branded<'user'>;
export type DeviceId = Branded<'device'>;
export type SessionId = Branded<'session'>;
