import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseJsonBounded } from '@palisade/protocol';
import { AppError } from '../core/index.js';
import { sha256Hex } from '../crypto/index.js';
import { EMPTY_BODY_SHA256 } from './proof.js';

const RAW_BODY = Symbol('palisade.rawBody');
type WithRawBody = FastifyRequest & { [RAW_BODY]?: Buffer };

// SECURITY: fatal: invalid UTF-8 is refused, never replaced with U+FFFD (stored text is exact).
// ignoreBOM keeps a leading BOM in the text, so JSON.parse refuses it as before.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The only body parser: `application/json`, read as bytes, decoded as strict UTF-8, then the bounded
 * JSON parser (size, depth, no __proto__ keys). The raw bytes are kept for the request proof.
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, raw, done) => {
    const bytes = raw as Buffer;
    (req as WithRawBody)[RAW_BODY] = bytes;
    let text: string;
    try {
      text = UTF8.decode(bytes);
    } catch {
      return done(new AppError('bad_json', 'the body is not valid UTF-8'), undefined);
    }
    const r = parseJsonBounded(text);
    if (r.ok) done(null, r.value);
    else done(new AppError(r.code, r.message), undefined);
  });
}

/** Hex SHA-256 of the request's raw body bytes (of zero bytes when it had none), computed once, on demand. */
export function bodySha256(req: FastifyRequest): string {
  const raw = (req as WithRawBody)[RAW_BODY];
  return raw === undefined ? EMPTY_BODY_SHA256 : sha256Hex(raw);
}
