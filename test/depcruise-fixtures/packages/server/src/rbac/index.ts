/** Fixture stub: the public API of rbac. */
export const rbac = 'rbac';
