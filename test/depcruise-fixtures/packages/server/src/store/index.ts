/** Fixture stub: the public API of store. */
export const store = 'store';
