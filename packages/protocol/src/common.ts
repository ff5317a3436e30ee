import { z } from 'zod';
import { MAX_ID_LENGTH, MAX_PAYLOAD_BYTES } from './limits.js';

/** Opaque identifier issued by the server (UUID-like, url-safe). */
export const Id = z.string().min(1).max(MAX_ID_LENGTH).regex(/^[A-Za-z0-9_-]+$/, 'url-safe characters only');

/** Client-chosen message id used for idempotent retries. */
export const ClientMsgId = Id;

/** User name: lower-case letters, digits, dot, dash, underscore; 2 to 32 characters. */
export const Username = z
  .string()
  .min(2)
  .max(32)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, dot, dash and underscore; start with a letter or digit');

/** Password: stored and compared exactly as typed; length rules are the server's policy. */
export const Password = z.string().min(1).max(1024);

/** Free text shown to people (display names, group names). Stored exactly; control characters refused. */
export const DisplayText = z
  .string()
  .min(1)
  .max(128)
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'control characters are not allowed');

/** A conversation topic: free text up to 512 characters, no control characters. */
export const TopicText = z
  .string()
  .min(1)
  .max(512)
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'control characters are not allowed');

/** An e-mail address (compared case-insensitively; stored sealed, found through a blind index). */
export const Email = z.string().max(254).email();

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Base64 (standard alphabet, padded) binary payload of at most 64 KiB decoded. */
export const Payload = z
  .string()
  .max(Math.ceil(MAX_PAYLOAD_BYTES / 3) * 4, 'payload_too_large')
  .refine((s) => s.length % 4 === 0 && BASE64.test(s), 'must be base64');

/** Base64url without padding. */
export const B64Url = (maxLen: number) => z.string().max(maxLen).regex(BASE64URL, 'must be base64url');

/** Per-conversation sequence number. */
export const Seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
