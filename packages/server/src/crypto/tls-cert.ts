// @peculiar/x509 v2 needs the Reflect metadata polyfill loaded before it (its documented set-up).
import 'reflect-metadata';
import { createPrivateKey, KeyObject, X509Certificate, webcrypto } from 'node:crypto';
import { hostname } from 'node:os';
import * as x509 from '@peculiar/x509';

/** A PEM certificate and its private key. */
export interface CertificatePair {
  certPem: string;
  keyPem: string;
}

/**
 * Generates a self-signed ECDSA P-256 certificate for first start, valid for `days`,
 * naming localhost, the loopback addresses and this machine's host name.
 */
export async function generateSelfSignedCertificate(days = 825): Promise<CertificatePair> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const host = hostname();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: `CN=${host.replace(/[,=+<>#;"\\]/g, '')}, O=Palisade self-signed`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + days * 86_400_000),
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        { type: 'dns', value: host },
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ]),
    ],
  });
  const keyPem = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
  return { certPem: cert.toString('pem') + '\n', keyPem };
}

/** SHA-256 fingerprint of a PEM certificate, as colon-separated upper-case hex. */
export function certificateFingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/**
 * Whether a PEM private key belongs to a PEM certificate, in words a preflight can report (never
 * OpenSSL's codes): `no-certificate`, `no-key` (unreadable or encrypted), `mismatch`, or `ok`.
 */
export function certificateKeyMatch(certPem: string, keyPem: string): 'ok' | 'no-certificate' | 'no-key' | 'mismatch' {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return 'no-certificate';
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return 'no-key';
  }
  return cert.checkPrivateKey(key) ? 'ok' : 'mismatch';
}
