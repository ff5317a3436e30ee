/** Realtime transport: the WebSocket gateway, per-connection delivery and the online hub. */
export { Gateway, WS_PATH } from './gateway.js';
export type { RealtimeDeps } from './deps.js';
export { CLOSE, toErrorFrame } from './frame-errors.js';
export { FRAME_ACCESS } from './frame-access.js';
