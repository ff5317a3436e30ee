/** Fixture stub: the public API of limits. */
export const limits = 'limits';
