#!/usr/bin/env node
/**
 * Tests the architecture checker itself, and the two rules an import graph cannot express.
 *
 * 1. dependency-cruiser over test/depcruise-fixtures: every fixture file that says
 *    `// expect: rule-a, rule-b` must raise exactly those rules, every other file none, and every
 *    rule of .dependency-cruiser.cjs must be expected by at least one fixture.
 * 2. Source scans over packages/server/src (and their own fixtures, which must fire):
 *    - `error-kinds-only-at-the-edge`: only http/error-map.ts and realtime/frame-errors.ts turn an
 *      error kind into an HTTP status;
 *    - `audit-in-change-tx`: `recordAudit(` takes the transaction, never the root `db`, except at the
 *      listed failure-audit sites (a failed attempt commits no change, so its record stands alone).
 *
 * Run by `npm run lint`; `node scripts/arch-check.mjs --help` for usage. Exit code 1 on any finding.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = 'test/depcruise-fixtures';
const SERVER_SRC = 'packages/server/src';

/**
 * `recordAudit(db, …)` outside a transaction is allowed only for these actions, per file: records of
 * failed or refused attempts (nothing commits, or the change rolls back, and the record must stay),
 * and records of facts that change nothing (a risk assessment). An entry no call uses is a problem too.
 */
export const ROOT_AUDIT_ALLOWED = {
  'auth/enrol.ts': ["'enrolment.failed'"],
  'auth/change-password.ts': ["'password.change_failed'"],
  'auth/mfa.ts': ["'login.failed'"],
  'auth/sso.ts': ["'sso.failed'"],
  'auth/sso-complete.ts': ["'sso.failed'"],
  'auth/profile.ts': ["'email.verify_conflict'"],
  'auth/passkeys.ts': ["'login.failed'"],
  'auth/service-accounts.ts': ["'service_token.refused'"],
  'auth/login.ts': ["'login.failed'", "'login.risk_assessed'"],
  'rbac/refusals.ts': ['AUTHZ_REFUSED'],
  // Closes a request whose status was claimed before the run; the approved action audited itself
  // (role.granted, factor.reset, naming both people) in its own transaction.
  'rbac/approvals.ts': ["'approval.executed'"],
  'realtime/connect-records.ts': ["'connect.device_proof_failed'"],
  // A key operation happens in the KMS, outside any store transaction; its record follows it.
  'server/compose.ts': ['keyAction'],
  // A drill's start, finish and undo: facts of the operator's rehearsal, no change of their own.
  // ... and the summary of a drill's synthetic messages, after their own transactions.
  'server/drill-fixtures.ts': ['drillAction', "'drill.filled'"],
};

/** Files allowed to map error kinds to statuses (docs/architecture.md, rule 1). */
export const ERROR_MAPPERS = ['http/error-map.ts', 'realtime/frame-errors.ts'];

function listTs(dir) {
  const out = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...listTs(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !p.includes('/test-support/')) out.push(p);
  }
  return out;
}

/** The module-relative name of a server source file (`auth/login.ts`), for fixtures too. */
function serverRelative(file) {
  const i = file.indexOf(`${SERVER_SRC}/`);
  return i < 0 ? null : file.slice(i + SERVER_SRC.length + 1);
}

/** Lines that test an AppError and write a 4xx/5xx status on the same line, outside the mappers. */
export function scanErrorMapping(file, text) {
  const rel = serverRelative(file);
  if (rel === null || ERROR_MAPPERS.includes(rel)) return [];
  const found = [];
  text.split('\n').forEach((line, i) => {
    const testsError = /isAppError\(|instanceof AppError|\.kind\s*[!=]==/.test(line);
    if (testsError && /\b[45]\d\d\b/.test(line))
      found.push({ rule: 'error-kinds-only-at-the-edge', file, line: i + 1 });
  });
  return found;
}

/** `recordAudit(<something>.db | db, …)` calls whose action is not on the allowed list. */
export function scanRootAudit(file, text, used = new Set()) {
  const rel = serverRelative(file);
  if (rel === null || rel === 'audit/record.ts') return [];
  const found = [];
  for (const m of text.matchAll(/recordAudit\(\s*([\w.]+)\s*,/g)) {
    const first = m[1];
    if (first !== 'db' && !first.endsWith('.db')) continue;
    const rest = text.slice(m.index, m.index + 600);
    const action = /action:\s*([^,}\n]+?)\s*[,}]/.exec(rest)?.[1] ?? '?';
    if ((ROOT_AUDIT_ALLOWED[rel] ?? []).includes(action)) {
      used.add(`${rel} ${action}`);
      continue;
    }
    const line = text.slice(0, m.index).split('\n').length;
    found.push({ rule: 'audit-in-change-tx', file, line, detail: `action ${action} is audited on the root db` });
  }
  return found;
}

function expectations(text, tag) {
  const m = new RegExp(`^// ${tag}: (.+)$`, 'm').exec(text);
  return m
    ? m[1]
        .split(',')
        .map((s) => s.trim())
        .sort()
    : [];
}

function cruiseFixtures() {
  const bin = join(ROOT, 'node_modules/.bin/depcruise');
  const args = [
    FIXTURES,
    '--config',
    '.dependency-cruiser.cjs',
    '--do-not-follow',
    '^(node_modules|packages)/',
    '--output-type',
    'json',
  ];
  let out;
  try {
    out = execFileSync(bin, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch (e) {
    if (!e.stdout) throw e;
    out = e.stdout; // depcruise exits non-zero when it finds violations, which the fixtures are for
  }
  return JSON.parse(out).summary.violations;
}

/** Runs every check; returns the list of problems (empty when the checker and the tree are sound). */
export function runChecks() {
  const problems = [];
  const rules = createRequire(import.meta.url)(join(ROOT, '.dependency-cruiser.cjs')).forbidden.map((r) => r.name);
  const fired = new Map();
  for (const v of cruiseFixtures()) {
    const list = fired.get(v.from) ?? new Set();
    list.add(v.rule.name);
    fired.set(v.from, list);
  }
  const fixtureFiles = listTs(FIXTURES);
  const expectedAnywhere = new Set();
  for (const file of fixtureFiles) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const want = expectations(text, 'expect');
    want.forEach((r) => expectedAnywhere.add(r));
    const got = [...(fired.get(file) ?? [])].sort();
    if (want.join() !== got.join())
      problems.push(`${file}: expected depcruise rules [${want.join(', ')}], got [${got.join(', ')}]`);
    const wantScan = expectations(text, 'expect-scan');
    wantScan.forEach((r) => expectedAnywhere.add(r));
    const gotScan = [
      ...new Set([...scanErrorMapping(file, text), ...scanRootAudit(file, text)].map((f) => f.rule)),
    ].sort();
    if (wantScan.join() !== gotScan.join())
      problems.push(`${file}: expected scan rules [${wantScan.join(', ')}], got [${gotScan.join(', ')}]`);
  }
  for (const r of [...rules, 'error-kinds-only-at-the-edge', 'audit-in-change-tx']) {
    if (!expectedAnywhere.has(r)) problems.push(`rule ${r} has no fixture in ${FIXTURES} that proves it fires`);
  }
  const used = new Set();
  for (const file of listTs(SERVER_SRC)) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const f of [...scanErrorMapping(file, text), ...scanRootAudit(file, text, used)]) {
      problems.push(`${relative(ROOT, join(ROOT, f.file))}:${f.line}: ${f.rule}${f.detail ? ` (${f.detail})` : ''}`);
    }
  }
  for (const [rel, actions] of Object.entries(ROOT_AUDIT_ALLOWED)) {
    for (const a of actions)
      if (!used.has(`${rel} ${a}`))
        problems.push(`ROOT_AUDIT_ALLOWED lists ${rel} ${a}, which no root-db call uses any more: remove it`);
  }
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--help')) {
    process.stdout.write(
      'usage: node scripts/arch-check.mjs\n  Proves each layer rule fires on test/depcruise-fixtures and scans packages/server/src\n  for error-kind mapping outside the two mappers and root-db audit records. Exit 1 on findings.\n',
    );
    process.exit(0);
  }
  const problems = runChecks();
  for (const p of problems) process.stderr.write(`arch-check: ${p}\n`);
  if (problems.length > 0) {
    process.stderr.write(
      `arch-check: ${problems.length} problem(s). Fix the code, or the fixture/allow-list with a reason (docs/architecture.md).\n`,
    );
    process.exit(1);
  }
  process.stdout.write('arch-check: every layer rule fires on its fixture; the scans are clean.\n');
}
