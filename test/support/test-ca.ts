import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });

/** Files of a test certificate: PEM paths and the certificate's text. */
export interface TestCert {
  certFile: string;
  keyFile: string;
  pem: string;
}

/** SANs every test certificate names: the loopback addresses and localhost. */
const SAN = 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1';

/** A private CA made with the openssl CLI (EC P-256, 2 days), in a fresh folder. */
export function makeTestCa(name = 'Palisade Test CA'): TestCert & { dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-ca-'));
  const keyFile = join(dir, 'ca.key');
  const certFile = join(dir, 'ca.pem');
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { dir, certFile, keyFile, pem: readFileSync(certFile, 'utf8') };
}

/** A server certificate for localhost/127.0.0.1 signed by `ca`. */
export function issueServerCert(ca: TestCert & { dir: string }, name = 'server'): TestCert {
  const keyFile = join(ca.dir, `${name}.key`);
  const csr = join(ca.dir, `${name}.csr`);
  const certFile = join(ca.dir, `${name}.pem`);
  const ext = join(ca.dir, `${name}.ext`);
  writeFileSync(
    ext,
    `${SAN}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`,
  );
  openssl([
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    csr,
    '-subj',
    '/CN=localhost',
  ]);
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    '-CAcreateserial',
    '-out',
    certFile,
    '-days',
    '2',
    '-extfile',
    ext,
  ]);
  return { certFile, keyFile, pem: readFileSync(certFile, 'utf8') };
}

/**
 * A self-signed server certificate written to `certFile`: for the existing key in `keyFile` (a
 * renewal with the same key), or for a new key written there (`newKey`).
 */
export function selfSign(keyFile: string, certFile: string, opts: { newKey?: boolean; cn?: string } = {}): string {
  const keyArgs = opts.newKey
    ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile]
    : ['-key', keyFile];
  openssl([
    'req',
    '-x509',
    ...keyArgs,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    `/CN=${opts.cn ?? 'renewed'}`,
    '-addext',
    SAN,
    '-addext',
    'basicConstraints=critical,CA:FALSE',
    '-addext',
    'keyUsage=critical,digitalSignature',
    '-addext',
    'extendedKeyUsage=serverAuth',
  ]);
  return readFileSync(certFile, 'utf8');
}
