/** Fixture stub: the public API of cluster. */
export const cluster = 'cluster';
