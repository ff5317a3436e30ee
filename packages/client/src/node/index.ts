/** Node adapters for the SDK: HTTPS and WebSocket transports, certificate fetch, key files. */
export {
  nodeHttp,
  nodeSockets,
  fetchServerCertificate,
  probeServer,
  type NodeTlsOptions,
  type ServerProbe,
} from './transport.js';
export { publicKeyFingerprint, normaliseFingerprint, fingerprintNames, pinCheck, PinMismatchError } from './tls-pin.js';
export { loadOrCreateDeviceKey, writePrivate } from './key-file.js';
export { FileStateStore, type FileStateStoreOptions } from './file-state-store.js';
export type { StateProtection } from './state-key.js';
export {
  ssoLoopbackSignIn,
  SsoLoopbackTimeoutError,
  SSO_LOOPBACK_PATH,
  type LoopbackSignInOptions,
} from './sso-loopback.js';
import { PalisadeClient } from '../client.js';
import type { DeviceKey } from '../device-key.js';
import type { RealtimeHandlers, RealtimeOptions } from '../realtime.js';
import { nodeHttp, nodeSockets, type NodeTlsOptions } from './transport.js';

/** A client wired with the Node adapters. */
export function createNodeClient(
  opts: NodeTlsOptions & {
    deviceKey: DeviceKey;
    token?: string;
    handlers?: RealtimeHandlers;
    /** Live-connection options, e.g. `{ frames: 'json' }` to never use binary payload frames. */
    realtime?: RealtimeOptions;
  },
): PalisadeClient {
  return new PalisadeClient({
    http: nodeHttp(opts),
    sockets: nodeSockets(opts),
    deviceKey: opts.deviceKey,
    token: opts.token,
    handlers: opts.handlers,
    realtime: opts.realtime,
  });
}
