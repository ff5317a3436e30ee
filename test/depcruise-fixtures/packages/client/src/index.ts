/** Fixture stub: the SDK entry. */
export const client = 'client';
