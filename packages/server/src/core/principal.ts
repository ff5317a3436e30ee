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
  /** Assurance level of the session: 1 password only, 2 multi-factor. */
  aal: number;
  /** When a strong factor was last verified in this session (ms), for step-up. */
  strongAuthAt: number | null;
}
