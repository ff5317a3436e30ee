/** Fixture stub: the public API of server. */
export const server = 'server';
