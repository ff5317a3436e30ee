import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  DRILL_HEADER,
  DRILL_SOURCE_HEADER,
  readDrillMark,
  withRequestContext,
  type DrillCheck,
  type DrillMark,
} from '../core/index.js';

const marks = new WeakMap<FastifyRequest, DrillMark>();

/**
 * Marks drill traffic: a request whose `x-palisade-drill` header holds a live drill's token runs
 * inside `withRequestContext({ drill })`, and with `x-palisade-drill-source` its `req.ip` becomes that
 * TEST-NET address. The context is entered at `onRequest` (for the hooks that follow) and again at
 * `preHandler`, in case a body parser or hook resumed on another async context (the socket's); the
 * route handler is called synchronously from the last preHandler's `done`, so it and everything it
 * awaits see the drill (drill-marking.test.ts streams a body in two writes to check). SECURITY: without a valid token both headers are ignored; the mark never suppresses
 * detection or response (it only labels).
 */
export function registerDrillMarking(app: FastifyInstance, drills: DrillCheck | undefined): void {
  if (!drills) return;
  app.addHook('onRequest', (req, _reply, done) => {
    let mark: DrillMark | undefined;
    try {
      mark = readDrillMark(
        drills,
        req.headers[DRILL_HEADER],
        req.headers[DRILL_SOURCE_HEADER],
        req.socket.remoteAddress ?? '',
      );
    } catch (e) {
      return done(e as Error);
    }
    if (!mark) return done();
    marks.set(req, mark);
    // Every later reader of the client address (limits, audit, access log) sees the drill's source.
    if (mark.address !== undefined) Object.defineProperty(req, 'ip', { value: mark.address, configurable: true });
    withRequestContext({ drill: mark.drill }, () => done());
  });
  app.addHook('preHandler', (req, _reply, done) => {
    const mark = marks.get(req);
    if (!mark) return done();
    withRequestContext({ drill: mark.drill }, () => done());
  });
}
