import { defineConfig } from 'vitest/config';

// Two projects: `unit` (the tests beside the code, in process) and `e2e` (spawned `palisade serve`
// processes driven over TLS). `npm test` runs both; `npm run test:unit` / `npm run test:e2e` run one.
// PALISADE_REQUIRE_SERVICES=1 (set by .ci/run) turns a missing PostgreSQL or SoftHSM into a failure
// in either project instead of a skip.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['packages/*/src/**/*.test.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['test/**/*.test.ts'] } },
    ],
  },
});
