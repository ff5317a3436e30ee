import type { IncomingMessage } from 'node:http';
import { AppError } from '../core/index.js';
import { DRILL_SCENARIOS, isDrillScenario, type DrillRegistry, type SecurityQueries } from './drills.js';
import { securityStatus } from './security-status.js';

/** Default drill lifetime when `POST /drills` names none. */
export const DEFAULT_DRILL_TTL_MS = 3_600_000;

/**
 * Set-up a drill needs that only the server can do (issue a service token, disable synthetic
 * accounts); server/drill-fixtures.ts implements it over auth.
 */
export interface DrillFixtures {
  /** A new service account with a narrowly scoped token (for the misuse scenario). */
  serviceToken(drillId: string): Promise<{ serviceUserId: string; token: string; scopes: unknown[] }>;
  /**
   * Stores `count` opaque messages from a synthetic drill account in a conversation it owns (the
   * off-hours export step on a server that requires MLS payloads, which refuses the drill's plain
   * sends). Returns how many were stored.
   */
  fillConversation(drillId: string, username: string, conversationId: string, count: number): Promise<number>;
  /** Disables a synthetic drill account and ends its sessions (audited); false when there is none. */
  disableAccount(drillId: string, username: string): Promise<boolean>;
  /** When the drill finishes: disables the service accounts made for it; returns their usernames. */
  finish(drillId: string): Promise<string[]>;
  /** Records a drill's lifecycle in the audit log (`drill.started`, `drill.finished`, `drill.undone`). */
  audit(
    action: 'drill.started' | 'drill.finished' | 'drill.undone' | 'drill.filled',
    drillId: string,
    details: Record<string, unknown>,
  ): Promise<void>;
}

/** What the drill endpoints of the admin socket need (`Core` carries these). */
export interface DrillAdminDeps {
  drills: DrillRegistry;
  /** Detection's read side; absent until wired: the endpoints that need it answer `unavailable`. */
  security?: SecurityQueries;
  drillFixtures?: DrillFixtures;
}

type Send = (status: number, body: unknown) => void;

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 16_384) throw new AppError('body_too_large');
  }
  if (!text) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new AppError('bad_json');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new AppError('bad_request', 'send a JSON object');
  return v as Record<string, unknown>;
}

function port<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new AppError('unavailable', `${what} is not wired on this server`);
  return value;
}

const DRILL_OP =
  /^\/drills\/(drill_[0-9a-f]{32})\/(finish|evidence|undo|seed-baseline|service-token|disable-account|fill)$/;
const USERNAME = /^drill-[a-z0-9._-]{1,26}$/;

/**
 * The drill and security-status operations of the admin socket; true when `url` was one of them (and
 * answered). Called from admin-socket.ts, which maps thrown AppErrors to statuses.
 * SECURITY: the admin socket is trusted by file permissions; the drill token is returned only by
 * `POST /drills`, never again. Accounts disabled here must be named `drill-*`.
 */
export async function handleDrillAdmin(
  deps: DrillAdminDeps,
  req: IncomingMessage,
  url: string,
  send: Send,
): Promise<boolean> {
  const method = req.method ?? 'GET';
  if (method === 'GET' && url === '/security/status') {
    send(200, await securityStatus(port(deps.security, 'detection'), deps.drills.now()));
    return true;
  }
  const decide = /^\/security\/containments\/([A-Za-z0-9_-]{1,64})\/(undo|approve)$/.exec(url);
  if (method === 'POST' && decide) {
    // SECURITY: the admin socket is the operator's (file permissions); audited as `admin-socket`.
    const [, id, decision] = decide as unknown as [string, string, 'undo' | 'approve'];
    send(200, await port(deps.security, 'detection').decideContainment(id, decision, 'admin-socket'));
    return true;
  }
  if (method === 'POST' && url === '/drills') {
    const body = await readBody(req);
    const scenario = body.scenario;
    if (scenario !== 'all' && !isDrillScenario(scenario))
      throw new AppError('bad_request', `scenario must be one of ${DRILL_SCENARIOS.join(', ')} or all`);
    const ttlMs = body.ttlMs === undefined ? DEFAULT_DRILL_TTL_MS : body.ttlMs;
    if (typeof ttlMs !== 'number') throw new AppError('bad_request', 'ttlMs must be a number');
    const d = deps.drills.create({ scenario, ttlMs });
    await deps.drillFixtures?.audit('drill.started', d.id, { scenario, expiresAt: d.expiresAt });
    send(201, { id: d.id, token: d.token, expiresAt: d.expiresAt });
    return true;
  }
  const m = DRILL_OP.exec(url);
  if (!m) return false;
  const [, id, op] = m as unknown as [string, string, string];
  const drill = deps.drills.get(id);
  if (!drill) throw new AppError('not_found', 'no such drill');
  if (method === 'POST' && op === 'finish') {
    deps.drills.finish(id);
    const disabled = (await deps.drillFixtures?.finish(id)) ?? [];
    await deps.drillFixtures?.audit('drill.finished', id, { scenario: drill.scenario, disabled: disabled.length });
    send(200, { ...deps.drills.get(id), disabled });
  } else if (method === 'GET' && op === 'evidence') {
    const q = port(deps.security, 'detection');
    const filter = { drill: id, since: drill.createdAt };
    const [findings, containments, alerts] = await Promise.all([
      q.findings(filter),
      q.containments(filter),
      q.alerts(filter),
    ]);
    send(200, { drill, findings, containments, alerts });
  } else if (method === 'POST' && op === 'undo') {
    const undone = await port(deps.security, 'detection').undoDrill(id, 'admin-socket');
    await deps.drillFixtures?.audit('drill.undone', id, { containments: undone });
    send(200, { undone });
  } else if (method === 'POST' && op === 'seed-baseline') {
    const { userId } = await readBody(req);
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > 64)
      throw new AppError('bad_request', 'userId is required');
    await port(deps.security, 'detection').seedBaseline(userId, 'daytime');
    send(200, { seeded: userId });
  } else if (method === 'POST' && op === 'service-token') {
    if (drill.finishedAt !== null) throw new AppError('bad_request', 'the drill is finished');
    send(201, await port(deps.drillFixtures, 'drill set-up').serviceToken(id));
  } else if (method === 'POST' && op === 'fill') {
    if (drill.finishedAt !== null) throw new AppError('bad_request', 'the drill is finished');
    const { username, conversationId, count } = await readBody(req);
    if (typeof username !== 'string' || !USERNAME.test(username))
      throw new AppError('bad_request', 'only conversations of synthetic drill accounts (drill-*) can be filled');
    if (typeof conversationId !== 'string' || conversationId.length === 0 || conversationId.length > 64)
      throw new AppError('bad_request', 'conversationId is required');
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 500)
      throw new AppError('bad_request', 'count must be a whole number from 1 to 500');
    const filled = await port(deps.drillFixtures, 'drill set-up').fillConversation(id, username, conversationId, count);
    send(200, { filled });
  } else if (method === 'POST' && op === 'disable-account') {
    const { username } = await readBody(req);
    if (typeof username !== 'string' || !USERNAME.test(username))
      throw new AppError('bad_request', 'only synthetic drill accounts (drill-*) can be disabled here');
    const done = await port(deps.drillFixtures, 'drill set-up').disableAccount(id, username);
    if (!done) throw new AppError('not_found', 'no such active drill account');
    send(200, { disabled: username });
  } else {
    return false;
  }
  return true;
}
