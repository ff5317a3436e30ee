/** Fixture stub: the public API of crypto. */
export const crypto = 'crypto';
