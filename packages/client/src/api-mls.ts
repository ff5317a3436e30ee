import type {
  ClaimKeyPackagesResponse,
  KeyPackageStock,
  MlsCommitRequest,
  MlsCommitResponse,
  MlsGroupInfoResponse,
  MlsGroupStatus,
  WelcomeView,
} from '@palisade/protocol';
import type { Api } from './api.js';
import { fromBase64Url, toBase64Url } from './bytes.js';

/** A Welcome waiting for this device, decoded. */
export interface MlsWelcome {
  id: string;
  conversationId: string;
  /** Sequence number of the commit that added this device. */
  seq: number;
  welcome: Uint8Array;
}

/** The group status with its group id as bytes. */
export type MlsGroupStatusBytes = Omit<MlsGroupStatus, 'groupId'> & { groupId: Uint8Array | null };

/** A commit to submit: the MLS parts as bytes. */
export interface MlsCommitInput {
  epoch: number;
  commit: Uint8Array;
  welcome?: Uint8Array;
  groupInfo: Uint8Array;
  added: string[];
  removed: string[];
  suite?: string;
  external?: boolean;
}

const enc = (id: string) => encodeURIComponent(id);

/**
 * Typed calls to the MLS delivery service and KeyPackage directory (docs/protocol.md, "End-to-end
 * encryption"), built on {@link Api.call}: every MLS structure goes as base64url bytes.
 */
export class MlsApi {
  constructor(private readonly api: Api) {}

  /** Uploads this device's KeyPackages (MLSMessage bytes); all or none. */
  uploadKeyPackages(pkgs: { keyPackage: Uint8Array; lastResort?: boolean }[]): Promise<KeyPackageStock> {
    return this.api.call<KeyPackageStock>('POST', '/v1/mls/key-packages', {
      packages: pkgs.map((p) => ({
        keyPackage: toBase64Url(p.keyPackage),
        ...(p.lastResort === undefined ? {} : { lastResort: p.lastResort }),
      })),
    });
  }

  /** This device's directory stock. */
  keyPackageStock(): Promise<KeyPackageStock> {
    return this.api.call<KeyPackageStock>('GET', '/v1/mls/key-packages/stock');
  }

  /** Claims one KeyPackage per device; devices without one (or not claimable) are in `missing`. */
  async claimKeyPackages(deviceIds: string[]): Promise<{
    packages: { userId: string; deviceId: string; keyPackage: Uint8Array }[];
    missing: string[];
  }> {
    const r = await this.api.call<ClaimKeyPackagesResponse>('POST', '/v1/mls/key-packages/claim', { deviceIds });
    return {
      packages: r.packages.map((p) => ({ ...p, keyPackage: fromBase64Url(p.keyPackage) })),
      missing: r.missing,
    };
  }

  /** The conversation's group as the server tracks it: epoch, devices in it, missing and stale devices. */
  async groupStatus(conversationId: string): Promise<MlsGroupStatusBytes> {
    const r = await this.api.call<MlsGroupStatus>('GET', `/v1/conversations/${enc(conversationId)}/mls`);
    return { ...r, groupId: r.groupId === null ? null : fromBase64Url(r.groupId) };
  }

  /**
   * Submits the commit of `c.epoch`. Fails with `epoch_conflict` (details.currentEpoch) when another
   * commit won that epoch: process it, then make the commit again.
   */
  commit(conversationId: string, c: MlsCommitInput): Promise<MlsCommitResponse> {
    const body = {
      epoch: c.epoch,
      commit: toBase64Url(c.commit),
      ...(c.welcome ? { welcome: toBase64Url(c.welcome) } : {}),
      groupInfo: toBase64Url(c.groupInfo),
      added: c.added,
      removed: c.removed,
      ...(c.suite === undefined ? {} : { suite: c.suite }),
      ...(c.external ? { external: true } : {}),
    } as MlsCommitRequest;
    return this.api.call<MlsCommitResponse>('POST', `/v1/conversations/${enc(conversationId)}/mls/commit`, body);
  }

  /** The current GroupInfo, to re-join by external commit. */
  async groupInfo(conversationId: string): Promise<{ groupInfo: Uint8Array; epoch: number }> {
    const r = await this.api.call<MlsGroupInfoResponse>(
      'GET',
      `/v1/conversations/${enc(conversationId)}/mls/group-info`,
    );
    return { groupInfo: fromBase64Url(r.groupInfo), epoch: r.epoch };
  }

  /** This device's waiting Welcomes, oldest first. */
  async welcomes(): Promise<MlsWelcome[]> {
    const r = await this.api.call<{ welcomes: WelcomeView[] }>('GET', '/v1/mls/welcomes');
    return r.welcomes.map((w) => ({ ...w, welcome: fromBase64Url(w.welcome) }));
  }

  /** Deletes a Welcome once processed. */
  async deleteWelcome(id: string): Promise<void> {
    await this.api.call<unknown>('DELETE', `/v1/mls/welcomes/${enc(id)}`);
  }
}
