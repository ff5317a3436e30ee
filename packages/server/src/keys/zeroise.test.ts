import { expect, it } from 'vitest';
import { withAllStores } from '../test-support/with-all-stores.js';
import { testDeps } from '../test-support/deps.js';
import { scopeOf } from './index.js';

withAllStores('S23: destroyed data keys are zeroed in memory', (h) => {
  it('S23: destroyScope zeroes the unwrapped key it drops, and a seal that kept a reference fails', async () => {
    const deps = await testDeps(h.get());
    const sealer = deps.auth.sealer;
    const scope = scopeOf.user('zeroise-user');
    await sealer.prepare(scope);
    const sealed = sealer.sealText('hello', 'users.display_name:zeroise-user', scope);
    // Test-only look inside: the cached, unwrapped data key of that scope.
    const cache = (sealer as unknown as { cache: Map<string, Buffer> }).cache;
    const id = sealed.split('.')[1]!;
    const key = cache.get(id)!;
    expect(key.some((b) => b !== 0)).toBe(true);
    await sealer.destroyScope(scope);
    expect(cache.has(id)).toBe(false);
    expect([...key].every((b) => b === 0)).toBe(true);
    // A value sealed with the stale reference would be under an all-zero key: refused instead.
    cache.set(id, key);
    (sealer as unknown as { current: Map<string, string> }).current.set(scope, id);
    expect(() => sealer.sealText('late', 'users.display_name:zeroise-user', scope)).toThrow(/destroyed/i);
    await expect(sealer.openText(sealed, 'users.display_name:zeroise-user')).rejects.toThrow();
  });
});
