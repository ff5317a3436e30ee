#!/usr/bin/env node
/**
 * No fixed sleeps in tests: a test proves "nothing happened" by advancing a fake clock past the
 * deadline, and waits for something with `expect.poll`, `vi.waitFor` or the event itself, never with a
 * guessed wall-clock wait. Scans every `*.test.ts`, `test/**` and `packages/* /src/test-support/**` file
 * for sleep-shaped code:
 *   - a timer whose callback only resolves: `setTimeout(r, N)`, `setTimeout(() => resolve(), N)`;
 *   - `timers/promises` (its setTimeout is a sleep);
 *   - a call of a helper named `sleep(` or `delay(`.
 * A pace that waits for nothing (a load's rhythm, a client's retry backoff) may stay: the line (or the
 * line above) says `// pace: <why>` and its file is listed in PACE_ALLOWED with the reason. A listed file without such a
 * line is a problem too (remove it from the list).
 *
 * Run by `npm run lint`; `node scripts/no-sleep-check.mjs --help` for usage. Exit code 1 on any finding.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Files that may keep a `// pace:` line, and why. */
const PACE_ALLOWED = {
  'test/e2e/rotation.test.ts': 'a steady message stream during key rotation (one send every 2 ms)',
  'test/e2e/store-faults.test.ts': 'the rhythm of the injected fault (a backend killed every 200 ms)',
  'test/support/store-faults.ts': "a client's retry backoff under load (the server's retryAfterMs, capped)",
};

const SLEEP_SHAPES = [
  { re: /setTimeout\(\s*(?:r|res|resolve|done|next)\s*,/, what: 'setTimeout(resolve, N)' },
  {
    re: /setTimeout\(\s*\(\)\s*=>\s*(?:r|res|resolve|done|next)\(\s*\)\s*,/,
    what: 'setTimeout(() => resolve(), N)',
  },
  { re: /['"](?:node:)?timers\/promises['"]/, what: 'timers/promises' },
  { re: /(?<![\w.$])(?:sleep|delay)\s*\(/, what: 'a sleep(…)/delay(…) helper' },
];

/** Sleep-shaped lines of one file's text: `{ line, what, paced }`. */
function scanSleeps(text) {
  const found = [];
  const lines = text.split('\n');
  const pace = (src = '') => /\/\/\s*pace:\s*\S/.test(src);
  lines.forEach((src, i) => {
    const code = src.replace(/\/\/.*$/, '');
    for (const s of SLEEP_SHAPES)
      if (s.re.test(code)) found.push({ line: i + 1, what: s.what, paced: pace(src) || pace(lines[i - 1]) });
  });
  return found;
}

function isTestFile(path) {
  if (path.startsWith('test/vectors/') || path.startsWith('test/depcruise-fixtures/')) return false;
  if (!/\.(?:ts|mts|js|mjs)$/.test(path)) return false;
  return path.endsWith('.test.ts') || path.startsWith('test/') || /^packages\/[^/]+\/src\/test-support\//.test(path);
}

function listFiles(dir) {
  const out = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist') continue;
    const p = dir === '.' ? e.name : `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out;
}

/** The checker's own fixtures: each sleep shape fires, deadlines and paced lines do not. */
function selfCheck() {
  const must = [
    'await new Promise((r) => setTimeout(r, 1_500));',
    'await new Promise((resolve) => setTimeout(() => resolve(), 20));',
    "import { setTimeout as wait } from 'node:timers/promises';",
    'await sleep(4_000);',
    'await delay(50);',
  ];
  const mustNot = [
    'const deadline = setTimeout(finish, timeoutMs);',
    'setTimeout(() => resolve(false), 10_000);',
    'await sql`SELECT pg_sleep(5)`.execute(db);',
    'await expect.poll(() => hub.rechecks).toBeGreaterThan(before);',
    '// await sleep(10) in a comment',
  ];
  const problems = [];
  for (const t of must) if (scanSleeps(t).length === 0) problems.push(`self-check: a sleep was not caught: ${t}`);
  for (const t of mustNot) if (scanSleeps(t).length > 0) problems.push(`self-check: a non-sleep was flagged: ${t}`);
  if (!scanSleeps('await new Promise((r) => setTimeout(r, 2)); // pace: a steady load')[0]?.paced)
    problems.push('self-check: a `// pace:` line was not recognised');
  return problems;
}

function runChecks() {
  const problems = selfCheck();
  const pacedIn = new Set();
  for (const file of listFiles('.').filter(isTestFile)) {
    for (const f of scanSleeps(readFileSync(join(ROOT, file), 'utf8'))) {
      if (f.paced && PACE_ALLOWED[file]) pacedIn.add(file);
      else if (f.paced)
        problems.push(`${file}:${f.line}: a paced wait in a file not in PACE_ALLOWED (add it with why)`);
      else
        problems.push(
          `${file}:${f.line}: fixed sleep (${f.what}): use a fake clock, expect.poll/vi.waitFor or the event`,
        );
    }
  }
  for (const file of Object.keys(PACE_ALLOWED))
    if (!pacedIn.has(file))
      problems.push(`PACE_ALLOWED lists ${file}, which has no \`// pace:\` line any more: remove it`);
  return problems;
}

if (process.argv.includes('--help')) {
  process.stdout.write(
    'usage: node scripts/no-sleep-check.mjs\n  Fails on fixed sleeps (setTimeout(r, N), timers/promises, sleep()/delay()) in test files;\n  a pace marked `// pace: why` in a file of PACE_ALLOWED may stay. Exit 1 on findings.\n',
  );
  process.exit(0);
}
const problems = runChecks();
for (const p of problems) process.stderr.write(`no-sleep-check: ${p}\n`);
if (problems.length > 0) {
  process.stderr.write(`no-sleep-check: ${problems.length} problem(s).\n`);
  process.exit(1);
}
process.stdout.write('no-sleep-check: no fixed sleeps in the tests.\n');
