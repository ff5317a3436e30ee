// expect: domain-not-transport
export type { WebSocket } from 'ws';
