/** Fixture stub: a module-internal file. */
export const internal = 1;
