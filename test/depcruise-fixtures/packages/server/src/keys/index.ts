/** Fixture stub: the public API of keys. */
export const keys = 'keys';
