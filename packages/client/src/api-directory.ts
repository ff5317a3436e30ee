import {
  DirectoryResponse,
  GossipResponse,
  IssueCredentialResponse,
  OrgKeysResponse,
  ProofResponse,
  SignedTreeHead,
  type GossipEntry,
  type OrgKeyView,
} from '@palisade/protocol';
import type { Api } from './api.js';
import type { TransparencySource } from './e2ee/transparency.js';
import { PalisadeError } from './errors.js';

/** Parses a server answer with its bounded schema: a malformed answer is an error, never trusted. */
function checked<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
  value: unknown,
): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new PalisadeError({ code: 'bad_request', message: 'the server sent a malformed answer' });
  return r.data;
}

/**
 * The key directory and transparency-log routes (`/v1/e2ee/...`) over an authenticated `Api`.
 * It is the production {@link TransparencySource} for `KeyTransparency`.
 */
export class DirectoryApi implements TransparencySource {
  constructor(private readonly api: Api) {}

  /** The organisation signing keys, retired ones included. */
  async orgKeys(): Promise<OrgKeyView[]> {
    return checked(OrgKeysResponse, await this.api.call('GET', '/v1/e2ee/org-keys')).keys;
  }

  /** This device's credential (issued on first call, the same afterwards), its leaf index and proof. */
  async issueCredential(): Promise<IssueCredentialResponse> {
    return checked(IssueCredentialResponse, await this.api.call('POST', '/v1/e2ee/credential'));
  }

  /** Credentialed active devices of the named users (at most 100) the caller may see. */
  async directory(userIds: readonly string[]): Promise<DirectoryResponse> {
    const q = encodeURIComponent(userIds.join(','));
    return checked(DirectoryResponse, await this.api.call('GET', `/v1/e2ee/directory?userIds=${q}`));
  }

  async head(): Promise<SignedTreeHead> {
    return checked(SignedTreeHead, await this.api.call('GET', '/v1/e2ee/kt/head'));
  }

  async inclusion(leafIndex: number, treeSize: number): Promise<string[]> {
    const path = `/v1/e2ee/kt/inclusion?leafIndex=${leafIndex}&treeSize=${treeSize}`;
    return checked(ProofResponse, await this.api.call('GET', path)).proof;
  }

  async consistency(from: number, to: number): Promise<string[]> {
    return checked(ProofResponse, await this.api.call('GET', `/v1/e2ee/kt/consistency?from=${from}&to=${to}`)).proof;
  }

  /** Reports the latest head this device verified; `signature` from `DeviceKey.signGossip(head)`. */
  async gossip(head: SignedTreeHead, signature: string): Promise<void> {
    await this.api.call('POST', '/v1/e2ee/kt/gossip', { head, signature });
  }

  /** The heads this user's other devices reported (check them with `KeyTransparency.checkGossip`). */
  async siblingHeads(): Promise<GossipEntry[]> {
    return checked(GossipResponse, await this.api.call('GET', '/v1/e2ee/kt/gossip')).heads;
  }
}
