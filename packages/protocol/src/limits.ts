/** Protocol-wide size limits. Both sides enforce them; the server is authoritative. */

/** Largest opaque message payload, in bytes (before base64). */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
/** Largest WebSocket frame or HTTP body the server reads, in bytes. */
export const MAX_FRAME_BYTES = 96 * 1024;
/** Deepest JSON nesting accepted in any body or frame. */
export const MAX_JSON_DEPTH = 16;
/** Longest identifier (conversation id, client message id). */
export const MAX_ID_LENGTH = 64;
/** Most members in one group. */
export const MAX_GROUP_MEMBERS = 1000;
/**
 * Largest WebSocket message the server sends, in bytes (UTF-8). Catch-up and batched live frames
 * go out as JSON arrays split into pages under this bound; a `msg` frame with the largest payload
 * (64 KiB, about 87.4 KiB in base64) fits on its own. Clients may refuse larger messages.
 */
export const MAX_SERVER_FRAME_BYTES = 96 * 1024;
