/** Fixture stub: the public API of auth. */
export const auth = 'auth';
