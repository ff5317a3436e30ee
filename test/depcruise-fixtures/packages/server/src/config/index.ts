/** Fixture stub: the public API of config. */
export const config = 'config';
