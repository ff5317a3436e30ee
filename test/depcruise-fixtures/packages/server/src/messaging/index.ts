/** Fixture stub: the public API of messaging. */
export const messaging = 'messaging';
