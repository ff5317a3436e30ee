/** Realtime transport: the WebSocket gateway, per-connection delivery and the online hub. */
export { Gateway } from './gateway.js';
export { FRAME_ACCESS } from './frame-access.js';
