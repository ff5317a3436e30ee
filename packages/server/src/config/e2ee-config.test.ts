import { describe, expect, it } from 'vitest';
import { loadConfig } from './index.js';

describe('config e2ee.required', () => {
  it('is true by default, and PALISADE_E2EE_REQUIRED turns it off or on', () => {
    expect(loadConfig({ env: {} }).e2ee.required).toBe(true);
    expect(loadConfig({ env: { PALISADE_E2EE_REQUIRED: 'false' } }).e2ee.required).toBe(false);
    expect(loadConfig({ env: { PALISADE_E2EE_REQUIRED: 'true' } }).e2ee.required).toBe(true);
    expect(() => loadConfig({ env: { PALISADE_E2EE_REQUIRED: 'maybe' } })).toThrow(/PALISADE_E2EE_REQUIRED/);
  });
});
