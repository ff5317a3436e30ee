import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { adminSocketUnreachable, withConfigFlag } from './load.js';

describe('operator hints name the configuration the operator used', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('repeats --config FILE in a suggested command, quoting a path the shell would split', () => {
    expect(withConfigFlag('npx palisade config check --connect', undefined)).toBe(
      'npx palisade config check --connect',
    );
    expect(withConfigFlag('npx palisade config check --connect', '/etc/palisade/palisade.yaml')).toBe(
      'npx palisade config check --connect --config /etc/palisade/palisade.yaml',
    );
    expect(withConfigFlag('npx palisade config check', "/srv/my conf/it's.yaml")).toBe(
      "npx palisade config check --config '/srv/my conf/it'\\''s.yaml'",
    );
  });

  it('an unreachable admin socket with no configuration given says to add the server’s --config', () => {
    vi.stubEnv('PALISADE_CONFIG', undefined);
    expect(existsSync('palisade.yaml')).toBe(false); // the tests run in the repository root, which has none
    const bare = adminSocketUnreachable('data/admin.sock', 'ENOENT', undefined);
    expect(bare).toMatch(/^cannot reach the admin socket data\/admin\.sock \(ENOENT\)\./);
    expect(bare).toContain('for a server started with --config FILE or PALISADE_DATA_DIR, give the same here');
    const given = adminSocketUnreachable('/srv/data/admin.sock', 'ECONNREFUSED', '/srv/palisade.yaml');
    expect(given).not.toContain('add the same --config');
    expect(given).toContain('Is the server running as this user?');
    vi.stubEnv('PALISADE_CONFIG', '/srv/palisade.yaml');
    expect(adminSocketUnreachable('/srv/data/admin.sock', 'ENOENT', undefined)).not.toContain('add the same --config');
  });
});
