import { decodeDeviceCredential, type DeviceCredential } from '@palisade/protocol';
import { toBase64Url } from '../bytes.js';
import type { CredentialValidator } from '../mls/adapter.js';
import { equalBytes } from './merkle.js';
import type { DirectoryPort, DirectoryUser, TransparencyPort } from './ports.js';

/**
 * Decides whether a leaf may be in a group. SECURITY: a member is accepted only when ALL hold:
 * its credential is canonical and names the key it signs with; the key directory lists exactly these
 * credential bytes for that user's device (so a revoked device, or one the server forged without
 * listing it, is refused); and the transparency log proves the credential's inclusion under a head
 * signed by the organisation key and consistent with every head seen before.
 */
export class MemberCheck {
  private readonly users = new Map<string, DirectoryUser>();
  private readonly accepted = new Set<string>();
  /** Why the last credentials were refused (newest last), for notices and tests. */
  readonly refusals: { userId?: string; deviceId?: string; reason: string }[] = [];

  constructor(
    private readonly directory: DirectoryPort,
    private readonly transparency: TransparencyPort,
  ) {}

  /** The validator handed to the MLS adapter. */
  readonly validate: CredentialValidator = async (credential, signatureKey) => {
    const decoded = decodeDeviceCredential(credential);
    if (!decoded.ok) return this.refuse({}, 'not a Palisade device credential');
    const c = decoded.value;
    if (toBase64Url(signatureKey) !== c.signatureKey)
      return this.refuse(c, 'signature key does not match the credential');
    const cacheKey = `${toBase64Url(credential)}`;
    if (this.accepted.has(cacheKey)) return true;
    const entry = await this.find(c, credential);
    if (!entry) return this.refuse(c, 'not in the key directory (unknown or revoked device)');
    try {
      await this.transparency.verifyCredential(credential, signatureKey, entry.leafIndex);
    } catch (e) {
      return this.refuse(c, `transparency check failed: ${(e as Error).message}`);
    }
    this.accepted.add(cacheKey);
    return true;
  };

  /** The directory entry for a user (fresh from the server when `refresh`). */
  async user(userId: string, refresh = false): Promise<DirectoryUser | undefined> {
    if (refresh || !this.users.has(userId)) await this.load([userId]);
    return this.users.get(userId);
  }

  /**
   * Reads the directory afresh at the next look-up. Credentials already proven (signature, log
   * inclusion) stay proven: whether a device may still READ is decided by the group checks against the
   * server's entitled list and the directory's current key (reconcile), not by this cache.
   */
  refreshDirectory(): void {
    this.users.clear();
  }

  private async load(userIds: string[]): Promise<void> {
    const { users } = await this.directory.directory(userIds);
    for (const id of userIds) this.users.delete(id);
    for (const u of users) this.users.set(u.userId, u);
  }

  private async find(c: DeviceCredential, bytes: Uint8Array) {
    for (const refresh of [false, true]) {
      const u = await this.user(c.userId, refresh);
      const d = u?.devices.find((x) => x.deviceId === c.deviceId);
      if (d && equalBytes(d.credential, bytes)) return d;
    }
    return undefined;
  }

  private refuse(c: Partial<DeviceCredential>, reason: string): false {
    this.refusals.push({ userId: c.userId, deviceId: c.deviceId, reason });
    if (this.refusals.length > 50) this.refusals.shift();
    return false;
  }
}
