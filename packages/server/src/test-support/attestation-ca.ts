// @peculiar/x509 v2 needs the Reflect metadata polyfill loaded before it (its documented set-up).
import 'reflect-metadata';
import { KeyObject, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** A test attestation CA: its root (PEM, for the server's allowlist) and a leaf that attests. */
export interface AttestationCa {
  rootPem: string;
  /** DER certificates to put in `x5c`, leaf first. */
  x5c: Uint8Array[];
  /** The private key of the leaf (signs attestation statements). */
  leafKey: KeyObject;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const serial = () =>
  Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString('hex')
    .replace(/^[89a-f]/, '1');

/**
 * Makes a root CA and a FIDO packed-attestation leaf for `aaguid` (OU "Authenticator Attestation",
 * the id-fido-gen-ce-aaguid extension), valid from 2020 for ten years from now. Test-only.
 */
export async function makeAttestationCa(aaguid: string, name = 'Palisade test authenticators'): Promise<AttestationCa> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const rootKeys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const leafKeys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  // Valid for both the real clock (the library checks it) and the tests' fake clock (2026-01-01).
  const notBefore = new Date(Date.UTC(2020, 0, 1));
  const notAfter = new Date(Date.now() + 10 * 365 * 86_400_000);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name} root, O=Palisade tests, C=AA`,
    notBefore,
    notAfter,
    keys: rootKeys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  const aaguidDer = Buffer.concat([Buffer.from([0x04, 0x10]), Buffer.from(aaguid.replace(/-/g, ''), 'hex')]);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${name} leaf, OU=Authenticator Attestation, O=Palisade tests, C=AA`,
    issuer: root.subject,
    notBefore,
    notAfter,
    publicKey: leafKeys.publicKey,
    signingKey: rootKeys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.Extension('1.3.6.1.4.1.45724.1.1.4', false, aaguidDer),
    ],
  });
  return {
    rootPem: root.toString('pem'),
    x5c: [new Uint8Array(leaf.rawData)],
    leafKey: KeyObject.from(leafKeys.privateKey),
  };
}
