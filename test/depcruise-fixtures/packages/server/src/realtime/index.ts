/** Fixture stub: the public API of realtime. */
export const realtime = 'realtime';
