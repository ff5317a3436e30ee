import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseJsonBytes } from '@palisade/protocol';
import { AppError } from '../core/index.js';
import { sha256Hex } from '../crypto/index.js';
import { EMPTY_BODY_SHA256 } from './proof.js';

const RAW_BODY = Symbol('palisade.rawBody');
type WithRawBody = FastifyRequest & { [RAW_BODY]?: Buffer };

/**
 * The only body parser: `application/json`, read as bytes, decoded as strict UTF-8, then the bounded
 * JSON parser (size, depth, no __proto__ keys). The raw bytes are kept for the request proof.
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, raw, done) => {
    const bytes = raw as Buffer;
    (req as WithRawBody)[RAW_BODY] = bytes;
    // SECURITY: invalid UTF-8 is refused, never replaced with U+FFFD (stored text is exact).
    const r = parseJsonBytes(bytes);
    if (r.ok) done(null, r.value);
    else done(new AppError(r.code, r.message), undefined);
  });
}

/** Hex SHA-256 of the request's raw body bytes (of zero bytes when it had none), computed once, on demand. */
export function bodySha256(req: FastifyRequest): string {
  const raw = (req as WithRawBody)[RAW_BODY];
  return raw === undefined ? EMPTY_BODY_SHA256 : sha256Hex(raw);
}
