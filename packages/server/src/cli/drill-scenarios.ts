import type { Agent } from 'node:https';
import { randomId, randomToken } from '../crypto/index.js';
import type { DrillScenario } from '../server/index.js';
import { adminCall, DrillDevice, type DrillTarget } from './drill-http.js';
import type { StepRun } from './drill-report.js';

/** Everything a scenario needs: where to attack, the drill, the admin socket, progress output. */
export interface DrillContext {
  target: DrillTarget;
  agent: Agent;
  drillId: string;
  drillToken: string;
  socketPath: string;
  /** A short random tag in every synthetic username (`drill-<tag>-...`). */
  tag: string;
  /** Synthetic accounts created (for the clean-up). */
  accounts: string[];
  progress(line: string): void;
}

/** A synthetic account of the drill. */
export interface DrillAccount {
  username: string;
  password: string;
  userId: string;
}

let setupHost = 0;
/**
 * A fresh address in 192.0.2.100-199 for set-up traffic (enrolments, the owner's own login), so set-up
 * meets no per-address limit and no attack address (192.0.2.30 sprays, 192.0.2.200 reads).
 */
const setupSource = () => `192.0.2.${100 + (setupHost++ % 100)}`;

/** A new drill device acting from `source`. */
export function device(ctx: DrillContext, source: string | undefined): DrillDevice {
  return new DrillDevice(ctx.target, ctx.agent, ctx.drillToken, source);
}

/** Creates a synthetic member account through an admin-socket invite and a real enrolment. */
export async function createAccount(ctx: DrillContext, role: string): Promise<DrillAccount> {
  const inv = await adminCall(ctx.socketPath, 'POST', '/invites', { role: 'member', grants: [], ttlHours: 1 });
  if (inv.status !== 201) throw new Error(`invite failed (${inv.status}): ${String(inv.json.message)}`);
  const username = `drill-${ctx.tag}-${role}`.slice(0, 32);
  const password = `drill ${randomToken(18)}`;
  const d = device(ctx, setupSource());
  const r = await d.call('POST', '/v1/enrol', { token: inv.json.token, username, password });
  if (r.status !== 200 && r.status !== 201)
    throw new Error(`enrolment of ${username} failed (${r.status}): ${String(r.json.message)}`);
  ctx.accounts.push(username);
  return { username, password, userId: String(r.json.userId) };
}

/** Runs `n` requests, `width` at a time. */
async function burst(n: number, width: number, one: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      for (let i = next++; i < n; i = next++) await one(i).catch(() => undefined);
    }),
  );
}

function step(scenario: string, description: string, subjects: string[]): StepRun {
  return { scenario, description, startedAt: Date.now(), endedAt: 0, subjects, requests: 0, statuses: {}, notes: [] };
}

const wrong = () => `wrong ${randomId().slice(0, 10)}`;

/** 300 wrong passwords for one account from 203.0.113.7. */
async function bruteForce(ctx: DrillContext): Promise<StepRun> {
  const victim = await createAccount(ctx, 'victim');
  const src = '203.0.113.7';
  const s = step('brute-force', `300 wrong passwords for ${victim.username} from ${src}`, [
    src,
    victim.userId,
    victim.username,
  ]);
  const d = device(ctx, src);
  await burst(300, 8, () => d.login(victim.username, wrong()));
  s.requests = d.requests;
  Object.assign(s.statuses, d.statuses);
  return s;
}

/** 50 accounts (5 real, 45 unknown) tried once each, with different passwords, from 203.0.113.20. */
async function stuffing(ctx: DrillContext): Promise<StepRun> {
  const real = [];
  for (let i = 0; i < 5; i++) real.push(await createAccount(ctx, `stuffed${i}`));
  const src = '198.51.100.20';
  const names = [...real.map((a) => a.username), ...Array.from({ length: 45 }, (_, i) => `drill-${ctx.tag}-ghost${i}`)];
  const s = step('stuffing', `50 accounts tried from ${src}, one leaked password each`, [src]);
  const d = device(ctx, src);
  await burst(names.length, 5, (i) => d.login(names[i] as string, wrong()));
  s.requests = d.requests;
  Object.assign(s.statuses, d.statuses);
  return s;
}

/** One common password tried across 40 accounts from 198.51.100.30. */
async function spraying(ctx: DrillContext): Promise<StepRun> {
  const real = [];
  for (let i = 0; i < 3; i++) real.push(await createAccount(ctx, `sprayed${i}`));
  const src = '192.0.2.30';
  const names = [...real.map((a) => a.username), ...Array.from({ length: 37 }, (_, i) => `drill-${ctx.tag}-spray${i}`)];
  const s = step('spraying', `one password across 40 accounts from ${src}`, [src]);
  const d = device(ctx, src);
  const guess = 'Winter2026!';
  await burst(names.length, 4, (i) => d.login(names[i] as string, guess));
  s.requests = d.requests;
  Object.assign(s.statuses, d.statuses);
  return s;
}

/** An account with a daytime baseline reads thousands of messages now (off its hours). */
async function offhoursExport(ctx: DrillContext): Promise<StepRun> {
  const reader = await createAccount(ctx, 'reader');
  const src = '192.0.2.200';
  const d = device(ctx, src);
  const s = step('offhours-export', `${reader.username} reads 5,000 messages outside its daytime hours from ${src}`, [
    reader.userId,
    reader.username,
    src,
  ]);
  const seeded = await adminCall(ctx.socketPath, 'POST', `/drills/${ctx.drillId}/seed-baseline`, {
    userId: reader.userId,
  });
  if (seeded.status !== 200) s.notes.push(`baseline not seeded (${seeded.status}): ${String(seeded.json.message)}`);
  if ((await d.login(reader.username, reader.password)).status !== 200) {
    s.notes.push('the reader could not log in');
    return s;
  }
  const conv = await d.call(
    'POST',
    '/v1/conversations',
    { kind: 'group', name: 'drill export', members: [] },
    { auth: true },
  );
  const id = typeof conv.json.id === 'string' ? conv.json.id : '';
  if (conv.status >= 300 || !id) {
    s.notes.push(`conversation not created (${conv.status})`);
    return s;
  }
  // Fills the conversation; on a server that requires MLS payloads these sends are refused, and the
  // reads below return nothing (the note says so).
  let sent = 0;
  // 100 sends: within the per-device send burst (message.send), so none is refused for pace.
  await burst(100, 8, async () => {
    const r = await d.call(
      'POST',
      `/v1/conversations/${id}/messages`,
      { clientMsgId: randomId(), payload: Buffer.from(randomToken(24)).toString('base64') },
      { auth: true },
    );
    if (r.status < 300) sent++;
  });
  if (sent < 100) {
    // A server that requires MLS payloads refuses the plain sends: the server stores opaque ones.
    const filled = await adminCall(ctx.socketPath, 'POST', `/drills/${ctx.drillId}/fill`, {
      username: reader.username,
      conversationId: id,
      count: 100 - sent,
    });
    if (filled.status === 200) sent += Number(filled.json.filled);
    else
      s.notes.push(`${sent} of 100 messages stored; filling failed (${filled.status}): ${String(filled.json.message)}`);
  }
  d.resetCounts();
  s.startedAt = Date.now();
  // About 5,000 messages read in all, however many were stored (each read returns all of them).
  const reads = Math.min(100, Math.ceil(5_000 / Math.max(sent, 50)));
  await burst(reads, 2, () =>
    d.call('GET', `/v1/conversations/${id}/messages?after=0&limit=500`, undefined, { auth: true }),
  );
  s.requests = d.requests;
  Object.assign(s.statuses, d.statuses);
  return s;
}

/** A session token used with proofs of another device key, from 203.0.113.50. */
async function stolenToken(ctx: DrillContext): Promise<StepRun> {
  const owner = await createAccount(ctx, 'owner');
  const legit = device(ctx, setupSource());
  if ((await legit.login(owner.username, owner.password)).status !== 200)
    throw new Error(`${owner.username} could not log in`);
  const src = '203.0.113.50';
  const s = step(
    'stolen-token',
    `${owner.username}'s session token used with another device key at ${src} (HTTP and WebSocket)`,
    [owner.userId, owner.username, src],
  );
  const thief = device(ctx, src);
  const stolen = legit.token as string;
  await burst(10, 2, () => thief.call('GET', '/v1/me', undefined, { auth: true, token: stolen }));
  // The same token on the WebSocket: the thief's key cannot sign the challenge for the owner's device.
  await burst(3, 1, () => thief.socketAuth(stolen));
  s.requests = thief.requests;
  Object.assign(s.statuses, thief.statuses);
  return s;
}

/** A service token used outside its scope (other conversations, admin routes), from 198.51.100.60. */
async function serviceMisuse(ctx: DrillContext): Promise<StepRun> {
  const src = '203.0.113.60';
  const s = step('service-account-misuse', `a scoped service token used out of scope from ${src}`, [src]);
  const issued = await adminCall(ctx.socketPath, 'POST', `/drills/${ctx.drillId}/service-token`, {});
  if (issued.status !== 201 || typeof issued.json.token !== 'string') {
    s.notes.push(`no service token (${issued.status}): ${String(issued.json.message)}`);
    return s;
  }
  s.subjects.push(String(issued.json.serviceUserId));
  const d = device(ctx, src);
  const token = issued.json.token;
  const headers = (path: string, body?: unknown) =>
    d.call(body === undefined ? 'GET' : 'POST', path, body, { auth: true, token });
  s.startedAt = Date.now();
  await burst(30, 3, (i) =>
    i % 3 === 0
      ? headers('/v1/admin/users')
      : i % 3 === 1
        ? headers(`/v1/conversations/${randomId()}/messages?after=0&limit=10`)
        : headers(`/v1/conversations/${randomId()}/messages`, { clientMsgId: randomId(), payload: 'AAAA' }),
  );
  s.requests = d.requests;
  Object.assign(s.statuses, d.statuses);
  return s;
}

const RUNNERS: Record<DrillScenario, (ctx: DrillContext) => Promise<StepRun>> = {
  'brute-force': bruteForce,
  stuffing,
  spraying,
  'offhours-export': offhoursExport,
  'stolen-token': stolenToken,
  'service-account-misuse': serviceMisuse,
};

/**
 * The order of `all`. Spraying goes last: its 40 logins from 192.0.2.30 spend the per-network login
 * limit of 192.0.2.0/24 (about a minute), where the set-up and the legitimate logins of the off-hours
 * and stolen-token steps come from; brute force and stuffing spend 203.0.113.0/24 and 198.51.100.0/24.
 */
export const RUN_ORDER: DrillScenario[] = [
  'brute-force',
  'stuffing',
  'offhours-export',
  'stolen-token',
  'service-account-misuse',
  'spraying',
];

/** Runs the scenarios in order; a scenario whose set-up fails becomes an undetected step with a note. */
export async function runScenarios(ctx: DrillContext, which: DrillScenario | 'all'): Promise<StepRun[]> {
  const list = which === 'all' ? RUN_ORDER : [which];
  const steps: StepRun[] = [];
  for (const name of list) {
    ctx.progress(`- ${name}: attacking`);
    let s: StepRun;
    try {
      s = await RUNNERS[name](ctx);
    } catch (e) {
      s = step(name, `${name} (set-up failed)`, []);
      s.notes.push(`set-up failed: ${(e as Error).message}`);
    }
    s.endedAt = Date.now();
    ctx.progress(`  ${s.requests} requests in ${s.endedAt - s.startedAt} ms`);
    steps.push(s);
  }
  return steps;
}
