/** Fixture stub: the public API of audit. */
export const audit = 'audit';
