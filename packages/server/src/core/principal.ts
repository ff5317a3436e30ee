import type { DeviceId, SessionId, UserId } from './ids.js';

/** Global role of an account. Finer roles and permissions arrive with the identity issue. */
export type AccountRole = 'admin' | 'member';

/** Who is acting: an authenticated user on one device in one session. */
export interface Principal {
  userId: UserId;
  username: string;
  role: AccountRole;
  deviceId: DeviceId;
  sessionId: SessionId;
}
