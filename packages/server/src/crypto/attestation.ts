import { X509Certificate } from 'node:crypto';

/**
 * Why a passkey gives the assurance it gives. `attested` is the only reason for AAL3 (device-bound);
 * every other reason means AAL2.
 */
export type PasskeyAalReason =
  | 'attested'
  | 'attestation_none'
  | 'self_attestation'
  | 'not_in_allowlist'
  | 'untrusted_chain'
  | 'backup_eligible'
  | 'became_synced';

/** The authenticators the operator trusts for AAL3: AAGUID → its attestation root certificates. */
export interface AttestationAllowlist {
  readonly roots: ReadonlyMap<string, readonly X509Certificate[]>;
}

/** What the verifier learnt from a registration, as input to the trust decision. */
export interface AttestationFacts {
  fmt: string;
  /** Lower-case, dashed AAGUID as the authenticator data states it. */
  aaguid: string;
  /** DER certificates of the attestation statement, leaf first (absent for none and self attestation). */
  x5c: Uint8Array[] | undefined;
  /** The BE flag: the key may be synced to other devices. */
  backupEligible: boolean;
}

/** An empty allowlist: no passkey is AAL3. */
export const EMPTY_ALLOWLIST: AttestationAllowlist = { roots: new Map() };

/**
 * Builds the allowlist from the operator's configuration (AAGUIDs with PEM root certificates).
 * Throws with the AAGUID named when a PEM does not parse, so a typo stops the server at start.
 */
export function attestationAllowlist(entries: { aaguid: string; rootPems: string[] }[]): AttestationAllowlist {
  const roots = new Map<string, X509Certificate[]>();
  for (const e of entries) {
    const certs = e.rootPems.flatMap(splitPem).map((pem) => {
      try {
        return new X509Certificate(pem);
      } catch {
        throw new Error(`attestation root for AAGUID ${e.aaguid} is not a PEM certificate`);
      }
    });
    if (certs.length === 0) throw new Error(`no attestation root certificate for AAGUID ${e.aaguid}`);
    roots.set(e.aaguid.toLowerCase(), [...(roots.get(e.aaguid.toLowerCase()) ?? []), ...certs]);
  }
  return { roots };
}

/**
 * Decides whether a verified registration is an AAL3 (device-bound) passkey.
 * SECURITY (S19): the BE/BS flags and the AAGUID are claims of the authenticator itself; only an
 * attestation chain that ends at a root the operator configured for that AAGUID makes them
 * believable. A synced (backup-eligible) key is never AAL3, whatever its attestation.
 */
export function attestationAssurance(
  facts: AttestationFacts,
  allowlist: AttestationAllowlist,
  now: number,
): { aal: 2 | 3; reason: PasskeyAalReason } {
  if (facts.backupEligible) return { aal: 2, reason: 'backup_eligible' };
  if (facts.fmt === 'none') return { aal: 2, reason: 'attestation_none' };
  if (!facts.x5c || facts.x5c.length === 0) return { aal: 2, reason: 'self_attestation' };
  const anchors = allowlist.roots.get(facts.aaguid.toLowerCase());
  if (!anchors) return { aal: 2, reason: 'not_in_allowlist' };
  return chainsTo(facts.x5c, anchors, now) ? { aal: 3, reason: 'attested' } : { aal: 2, reason: 'untrusted_chain' };
}

/** True when leaf → intermediates → one of `anchors` verifies, every certificate valid at `now`. */
function chainsTo(x5c: Uint8Array[], anchors: readonly X509Certificate[], now: number): boolean {
  let chain: X509Certificate[];
  try {
    chain = x5c.map((der) => new X509Certificate(Buffer.from(der)));
  } catch {
    return false;
  }
  const valid = (c: X509Certificate) => Date.parse(c.validFrom) <= now && now <= Date.parse(c.validTo);
  if (!chain.every(valid)) return false;
  for (let i = 0; i + 1 < chain.length; i++) {
    const child = chain[i]!;
    const parent = chain[i + 1]!;
    if (!parent.ca || !child.checkIssued(parent) || !child.verify(parent.publicKey)) return false;
  }
  const top = chain[chain.length - 1]!;
  // SECURITY: the top of the presented chain must be signed by (or be) a configured root; a root the
  // authenticator sends itself proves nothing unless it is byte-identical to the configured one.
  return anchors.some(
    (root) =>
      valid(root) && (top.raw.equals(root.raw) || (root.ca && top.checkIssued(root) && top.verify(root.publicKey))),
  );
}

function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
