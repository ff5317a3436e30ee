import { ed25519 } from '@noble/curves/ed25519.js';
import {
  credentialSigningMessage,
  decodeDeviceCredential,
  gossipSigningMessage,
  orgKeyEndorsementMessage,
  treeHeadSigningMessage,
  type DeviceCredential,
  type DirectoryResponse,
  type OrgKeyView,
  type SignedTreeHead,
} from '@palisade/protocol';
import { fromBase64Url, toBase64Url, utf8 } from '../bytes.js';
import { equalBytes, leafHash, verifyConsistency, verifyInclusion } from './merkle.js';

/** Why a credential, a head or a gossip report was refused. */
export type TransparencyErrorCode =
  'bad_signature' | 'unknown_org_key' | 'key_mismatch' | 'not_in_log' | 'fork' | 'inconsistent';

/** A refusal by the key-transparency checks. A `fork` must be shown to the user loudly. */
export class TransparencyError extends Error {
  constructor(
    readonly code: TransparencyErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TransparencyError';
  }
}

/** Where the log comes from: the server (`DirectoryApi`), or a test playing a malicious one. */
export interface TransparencySource {
  orgKeys(): Promise<OrgKeyView[]>;
  head(): Promise<SignedTreeHead>;
  inclusion(leafIndex: number, treeSize: number): Promise<string[]>;
  consistency(from: number, to: number): Promise<string[]>;
}

/**
 * What a device remembers between runs (plain JSON; the caller persists it after every change):
 * the organisation keys it trusts (keyId to base64url public key) and the latest head it verified.
 * Every head seen earlier was proved consistent with `head`, so keeping the latest is enough.
 */
export interface TransparencyState {
  orgKeys: Record<string, string>;
  head?: SignedTreeHead;
}

/** A head another device of this user reported, with that device's public key (from the directory). */
export interface SiblingHead {
  deviceId: string;
  head: SignedTreeHead;
  signature: string;
  /** base64url Ed25519 public key of that device, taken from its verified credential. */
  publicKey: string;
}

/** A device of the key directory whose credential verified (signature, log inclusion, listing). */
export interface VerifiedDevice {
  userId: string;
  username: string;
  deviceId: string;
  leafIndex: number;
  credential: DeviceCredential;
  /** The credential bytes: the MLS basic-credential identity this device's leaf must carry. */
  credentialBytes: Uint8Array;
}

function verifySig(publicKey: string, message: string, signature: string): boolean {
  try {
    return ed25519.verify(fromBase64Url(signature), utf8(message), fromBase64Url(publicKey), { zip215: false });
  } catch {
    return false;
  }
}

const rootOf = (h: SignedTreeHead) => fromBase64Url(h.rootHash);

/**
 * Client-side key transparency: pins organisation keys (first use, then only successors endorsed by
 * a pinned key), verifies signed tree heads and their consistency with every head seen before,
 * verifies credentials (organisation signature, signature key, inclusion in the log) and compares
 * the heads this user's other devices saw (fork detection across devices).
 * SECURITY: nothing the source says is trusted without a signature or a proof checked here.
 */
export class KeyTransparency {
  private readonly st: TransparencyState;

  constructor(
    private readonly source: TransparencySource,
    state: TransparencyState = { orgKeys: {} },
    private readonly onChange: (state: TransparencyState) => void = () => undefined,
  ) {
    this.st = { orgKeys: { ...state.orgKeys }, ...(state.head ? { head: { ...state.head } } : {}) };
  }

  /** A copy of the state to persist. */
  get state(): TransparencyState {
    return structuredClone(this.st);
  }

  /**
   * The public key of org key `keyId`: pinned already, or reached now through endorsements from a
   * pinned key. With nothing pinned yet, the single unendorsed key the source lists is pinned (trust on
   * first use; configure `orgKeys` in the state to pin out of band instead).
   */
  async orgKey(keyId: string): Promise<string> {
    const pinned = this.st.orgKeys[keyId];
    if (pinned) return pinned;
    const keys = await this.source.orgKeys().catch(() => [] as OrgKeyView[]);
    let changed = false;
    if (Object.keys(this.st.orgKeys).length === 0) {
      const roots = keys.filter((k) => !k.endorsement);
      if (roots.length !== 1)
        throw new TransparencyError(
          'unknown_org_key',
          `expected one root organisation key, the server lists ${roots.length}`,
        );
      this.st.orgKeys[roots[0]!.keyId] = roots[0]!.publicKey;
      changed = true;
    }
    // Follow endorsements until nothing new is pinned (any order, chains of any length).
    for (let grew = true; grew;) {
      grew = false;
      for (const k of keys) {
        if (this.st.orgKeys[k.keyId] || !k.endorsement) continue;
        const by = this.st.orgKeys[k.endorsement.keyId];
        if (by && verifySig(by, orgKeyEndorsementMessage(k.keyId, k.publicKey), k.endorsement.signature)) {
          this.st.orgKeys[k.keyId] = k.publicKey;
          grew = changed = true;
        }
      }
    }
    if (changed) this.onChange(this.state);
    const found = this.st.orgKeys[keyId];
    if (!found) throw new TransparencyError('unknown_org_key', `organisation key ${keyId} is not pinned nor endorsed`);
    return found;
  }

  private async assertHeadSigned(h: SignedTreeHead): Promise<void> {
    const key = await this.orgKey(h.keyId);
    const { signature, ...unsigned } = h;
    if (!verifySig(key, treeHeadSigningMessage(unsigned), signature))
      throw new TransparencyError('bad_signature', 'the tree head is not signed by the organisation key it names');
  }

  /**
   * Proves `older` is a prefix of `newer` (both verified heads). Throws `fork` when the proof fails
   * or the same size has two roots, `inconsistent` when the source gives no proof.
   */
  private async assertConsistent(older: SignedTreeHead, newer: SignedTreeHead): Promise<void> {
    if (older.treeSize === newer.treeSize) {
      if (!equalBytes(rootOf(older), rootOf(newer)))
        throw new TransparencyError('fork', `two tree heads of size ${older.treeSize} with different roots`);
      return;
    }
    let proof: Uint8Array[];
    try {
      proof = (await this.source.consistency(older.treeSize, newer.treeSize)).map(fromBase64Url);
    } catch (e) {
      throw new TransparencyError('inconsistent', `no consistency proof: ${(e as Error).message}`);
    }
    if (!verifyConsistency(older.treeSize, newer.treeSize, rootOf(older), rootOf(newer), proof))
      throw new TransparencyError('fork', `tree ${older.treeSize} is not a prefix of tree ${newer.treeSize}`);
  }

  /**
   * Fetches the current head, checks its signature and its consistency with the last head seen, and
   * remembers it. A head older than the one seen is checked too, and the newer one kept.
   */
  async refreshHead(): Promise<SignedTreeHead> {
    const h = await this.source.head();
    await this.assertHeadSigned(h);
    const prev = this.st.head;
    if (prev && h.treeSize < prev.treeSize) {
      await this.assertConsistent(h, prev);
      return prev;
    }
    if (prev) await this.assertConsistent(prev, h);
    this.st.head = h;
    this.onChange(this.state);
    return h;
  }

  /**
   * Verifies a member's credential: well formed, signed by a pinned (or endorsed) organisation key,
   * naming `signatureKey` (the MLS leaf's signature key), and included in the log under a verified head.
   */
  async verifyCredential(
    credentialBytes: Uint8Array,
    signatureKey: string | Uint8Array,
    leafIndex: number,
  ): Promise<DeviceCredential> {
    const parsed = decodeDeviceCredential(credentialBytes);
    if (!parsed.ok) throw new TransparencyError('bad_signature', `not a device credential: ${parsed.message}`);
    const c = parsed.value;
    const orgKey = await this.orgKey(c.keyId);
    const { signature, ...unsigned } = c;
    if (!verifySig(orgKey, credentialSigningMessage(unsigned), signature))
      throw new TransparencyError('bad_signature', 'the credential is not signed by the organisation key it names');
    const expected = typeof signatureKey === 'string' ? signatureKey : toBase64Url(signatureKey);
    if (c.signatureKey !== expected)
      throw new TransparencyError('key_mismatch', 'the credential names another signature key than the member uses');
    let head = this.st.head ?? (await this.refreshHead());
    if (!(Number.isSafeInteger(leafIndex) && leafIndex >= 0))
      throw new TransparencyError('not_in_log', 'no valid leaf index');
    if (leafIndex >= head.treeSize) head = await this.refreshHead();
    if (leafIndex >= head.treeSize) throw new TransparencyError('not_in_log', `leaf ${leafIndex} is beyond the log`);
    let proof: Uint8Array[];
    try {
      proof = (await this.source.inclusion(leafIndex, head.treeSize)).map(fromBase64Url);
    } catch (e) {
      throw new TransparencyError('not_in_log', `no inclusion proof: ${(e as Error).message}`);
    }
    if (!verifyInclusion(leafHash(credentialBytes), leafIndex, head.treeSize, proof, rootOf(head)))
      throw new TransparencyError('not_in_log', `the credential is not leaf ${leafIndex} of the log`);
    return c;
  }

  /**
   * Checks the heads this user's other devices reported: each signed by that device's key and by the
   * organisation, and consistent with the head this device verified (fork detection across devices).
   * Throws on the first problem (`fork` means the server showed two devices different logs).
   */
  async checkGossip(heads: readonly SiblingHead[]): Promise<void> {
    for (const g of heads) {
      if (!verifySig(g.publicKey, gossipSigningMessage(g.head), g.signature))
        throw new TransparencyError('bad_signature', `the head reported for device ${g.deviceId} is not its own`);
      await this.assertSameLog(g.head, `device ${g.deviceId}`);
    }
  }

  /**
   * Checks a head seen elsewhere (a sibling's report, a directory answer): signed by the organisation
   * and a prefix of (or equal to) the newest head this device verified, refreshing ours if it is older.
   */
  private async assertSameLog(h: SignedTreeHead, who: string): Promise<void> {
    await this.assertHeadSigned(h);
    let ours = this.st.head ?? (await this.refreshHead());
    if (h.treeSize > ours.treeSize) ours = await this.refreshHead();
    if (h.treeSize > ours.treeSize)
      throw new TransparencyError('fork', `${who} saw a larger log than the server shows this device`);
    await this.assertConsistent(h, ours);
  }

  /**
   * Verifies a key-directory answer: its head (signed, consistent with ours) and every listed device's
   * credential (organisation signature, inclusion in the log, and naming the user and device it is
   * listed under; a mismatch is `key_mismatch`). The caller then accepts an MLS leaf only when its
   * credential bytes and signature key equal those of a verified device.
   */
  async verifyDirectory(dir: DirectoryResponse): Promise<VerifiedDevice[]> {
    await this.assertSameLog(dir.head, 'the key directory');
    const out: VerifiedDevice[] = [];
    for (const u of dir.users)
      for (const d of u.devices) {
        const bytes = fromBase64Url(d.credential);
        const parsed = decodeDeviceCredential(bytes);
        if (!parsed.ok) throw new TransparencyError('bad_signature', `device ${d.deviceId}: not a device credential`);
        const c = parsed.value;
        if (c.userId !== u.userId || c.deviceId !== d.deviceId || c.username !== u.username)
          throw new TransparencyError(
            'key_mismatch',
            `device ${d.deviceId}: the credential names another user or device`,
          );
        const credential = await this.verifyCredential(bytes, c.signatureKey, d.leafIndex);
        out.push({
          userId: u.userId,
          username: u.username,
          deviceId: d.deviceId,
          leafIndex: d.leafIndex,
          credential,
          credentialBytes: bytes,
        });
      }
    return out;
  }
}
