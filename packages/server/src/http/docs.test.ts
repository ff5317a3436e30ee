import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClientFrame, ERROR_CODES } from '@palisade/protocol';
import { ROUTES } from './index.js';

const doc = readFileSync(resolve(import.meta.dirname, '../../../../docs/protocol.md'), 'utf8');

describe('docs/protocol.md stays complete', () => {
  it('lists every HTTP route with its access rule', () => {
    for (const r of ROUTES)
      expect(doc, `${r.method} ${r.url}`).toContain(`| ${r.method} | \`${r.url}\` | ${r.access} |`);
  });
  it('lists every error code and every client frame type', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(doc, code).toContain(`| \`${code}\` |`);
    for (const o of ClientFrame.options) expect(doc).toContain(`{type:'${o.shape.type.value}'`);
  });
});
