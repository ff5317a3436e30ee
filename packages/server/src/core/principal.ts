import type { DeviceId, SessionId, UserId } from './ids.js';

/** Who is acting: an authenticated user on one device in one session. */
export interface Principal {
  userId: UserId;
  username: string;
  /** The base role and every active grant (standing or just-in-time). */
  roles: readonly string[];
  deviceId: DeviceId;
  sessionId: SessionId;
  /** Assurance level of the session: 1 password only, 2 multi-factor. */
  aal: number;
  /** When a strong factor was last verified in this session (ms), for step-up. */
  strongAuthAt: number | null;
  /** How it was verified (totp, recovery_code, passkey, passkey_device_bound, sso). */
  strongAuthMethod?: string | null;
  /** Set for service accounts: what the token may do, on which conversations. */
  scopes?: readonly ServiceScope[];
  /**
   * Set for a service token bound to a device key: `deviceId` is then the bot's own device, every
   * request carried a proof signed by it, and the token may use the MLS member routes (http/route.ts).
   */
  deviceBound?: true;
}

/** One scope of a service token: an action on some conversations (or all it is a member of). */
export interface ServiceScope {
  action: string;
  conversations: readonly string[] | '*';
}
