import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADMIN_ROLES, BASE_ROLES, GRANTABLE_ROLES } from '@palisade/protocol';
import { ROLE_PERMISSIONS } from './permissions.js';

const docs = resolve(import.meta.dirname, '../../../../docs');
const read = (name: string) => readFileSync(resolve(docs, name), 'utf8');

describe('the role catalogue (@palisade/protocol roles.ts) is the one source', () => {
  it('the permission table has exactly the catalogue roles', () => {
    expect(Object.keys(ROLE_PERMISSIONS).sort()).toEqual([...BASE_ROLES, ...GRANTABLE_ROLES].sort());
  });
  it('the administrative roles are grantable roles', () => {
    for (const r of ADMIN_ROLES) expect(GRANTABLE_ROLES).toContain(r);
  });
  it('docs/security-model.md has a table row for every catalogue role', () => {
    const rows = [...read('security-model.md').matchAll(/^\| ([a-z_]+) \| [^|]+ \|$/gm)].map((m) => m[1]);
    const documented = rows.filter((r) => r !== undefined && r in ROLE_PERMISSIONS);
    expect(documented.sort()).toEqual([...BASE_ROLES, ...GRANTABLE_ROLES].sort());
  });
  it('docs/operations.md lists every grantable role for --grant, in catalogue order', () => {
    const text = read('operations.md').replace(/\s+/g, ' ');
    const list = GRANTABLE_ROLES.map((r) => `\`${r}\``);
    const spelled = `${list.slice(0, -1).join(', ')}, ${list.at(-1)}`;
    expect(text).toContain(`one or more of ${spelled}`);
  });
});
