/** Fixture stub: the public API of detect. */
export const detect = 'detect';
