/** Fixture stub: the public API of core. */
export const core = 'core';
/** Fixture stub: the kernel's error test. */
export const isAppError = (e: unknown): boolean => e instanceof Error;
