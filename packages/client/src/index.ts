/**
 * @palisade/client: the Palisade SDK. Platform-neutral core (no Node-only APIs); Node adapters live
 * in `@palisade/client/node`.
 */
export { PalisadeClient, newClientMsgId, type ClientOptions } from './client.js';
export { Api, type FactorInfo, type GrantRoleResult, type HistoryMessage } from './api.js';
export { MlsApi, type MlsCommitInput, type MlsGroupStatusBytes, type MlsWelcome } from './api-mls.js';
export {
  Realtime,
  type IncomingMessage,
  type ConnectionState,
  type RealtimeHandlers,
  type RealtimeOptions,
} from './realtime.js';
export { DeviceKey } from './device-key.js';
export { PalisadeError } from './errors.js';
export type { HttpTransport, SocketFactory, SocketLike, HttpResponse } from './transport.js';
export { toBase64, fromBase64, toBase64Url, fromBase64Url, utf8, fromUtf8 } from './bytes.js';
export { MemoryStateStore, StateStoreError, type StateStore, type StateStoreErrorCode } from './e2ee/state-store.js';
export {
  safetyNumber,
  formatSafetyNumber,
  sameSafetyNumber,
  SafetyNumberError,
  type SafetyIdentity,
} from './e2ee/safety-number.js';
export * from './mls/index.js';
export * from './e2ee/index.js';
export { DirectoryApi } from './api-directory.js';
export {
  KeyTransparency,
  TransparencyError,
  type SiblingHead,
  type TransparencyErrorCode,
  type TransparencySource,
  type TransparencyState,
  type VerifiedDevice,
} from './e2ee/transparency.js';
export { EMPTY_ROOT, leafHash, nodeHash, verifyConsistency, verifyInclusion } from './e2ee/merkle.js';
