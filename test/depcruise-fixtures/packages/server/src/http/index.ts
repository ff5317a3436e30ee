/** Fixture stub: the public API of http. */
export const http = 'http';
