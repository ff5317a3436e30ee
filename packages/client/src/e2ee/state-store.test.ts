import { describe } from 'vitest';
import { MemoryStateStore } from './state-store.js';
import { stateStoreConformance } from './test-support/state-store-conformance.js';

describe('MemoryStateStore', () => {
  stateStoreConformance(() => Promise.resolve({ store: new MemoryStateStore() }), { numRuns: 200 });
});
