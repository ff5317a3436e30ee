import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { MechanismClass } from '@xmpp/client';

type Hash = 'sha1' | 'sha256';

// Salted passwords by user, password, salt and iteration count: a client caches them after its first
// login (RFC 5802, section 5.1), so later logins of the benchmark cost the client no PBKDF2 at all.
const salted = new Map<string, Buffer>();

const saslname = (s: string) => s.replace(/=/g, '=3D').replace(/,/g, '=2C');
const parse = (s: string) => new Map(s.split(',').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(2)]));

/**
 * A SCRAM client mechanism (RFC 5802 / RFC 7677) for @xmpp/client's SASL factory, computing PBKDF2
 * with node's `pbkdf2Sync` (native) instead of the library's JavaScript loop, so that the bench
 * measures the server's login, not the client's hashing. Bench only: the product has no XMPP.
 *
 * `nonce` is injectable for the RFC test vectors; by default 18 random bytes in base64 (no comma).
 */
export function scramMechanism(hash: Hash, nonce = () => randomBytes(18).toString('base64')): MechanismClass {
  const name = hash === 'sha1' ? 'SCRAM-SHA-1' : 'SCRAM-SHA-256';
  const hmac = (key: Buffer, data: string | Buffer) => createHmac(hash, key).update(data).digest();
  return class Scram {
    name = name;
    clientFirst = true;
    private stage: 'initial' | 'challenge' | 'final' = 'initial';
    private firstBare = '';
    private serverFirst = '';
    private expectedServerSignature: Buffer | undefined;

    response(cred: { username: string; password: string }): string {
      if (this.stage === 'initial') {
        this.stage = 'challenge';
        this.firstBare = `n=${saslname(cred.username)},r=${nonce()}`;
        return `n,,${this.firstBare}`;
      }
      if (this.stage === 'challenge') {
        this.stage = 'final';
        const f = parse(this.serverFirst);
        const [r, s, i] = [f.get('r') ?? '', f.get('s') ?? '', Number(f.get('i'))];
        const clientNonce = this.firstBare.slice(this.firstBare.indexOf(',r=') + 3);
        // SECURITY: the server's nonce must extend ours, and a low count would weaken the derived key.
        if (!r.startsWith(clientNonce) || !(i >= 4096)) throw new Error('SCRAM: bad server-first-message');
        const key = `${hash}\0${cred.username}\0${cred.password}\0${s}\0${i}`;
        let sp = salted.get(key);
        if (sp === undefined) {
          sp = pbkdf2Sync(cred.password, Buffer.from(s, 'base64'), i, hash === 'sha1' ? 20 : 32, hash);
          salted.set(key, sp);
        }
        const withoutProof = `c=biws,r=${r}`;
        const auth = `${this.firstBare},${this.serverFirst},${withoutProof}`;
        const clientKey = hmac(sp, 'Client Key');
        const signature = hmac(createHash(hash).update(clientKey).digest(), auth);
        const proof = Buffer.from(clientKey.map((b, k) => b ^ (signature[k] as number)));
        this.expectedServerSignature = hmac(hmac(sp, 'Server Key'), auth);
        return `${withoutProof},p=${proof.toString('base64')}`;
      }
      return '';
    }

    challenge(chal: string): this {
      if (this.stage === 'challenge') this.serverFirst = chal;
      else if (this.stage === 'final') {
        // A server-final-message as a challenge (some servers): check the server knew the key.
        const v = Buffer.from(parse(chal).get('v') ?? '', 'base64');
        const want = this.expectedServerSignature;
        if (!want || v.length !== want.length || !timingSafeEqual(v, want))
          throw new Error('SCRAM: bad server signature');
      }
      return this;
    }
  };
}

/**
 * Checks {@link scramMechanism} against the published exchanges (RFC 5802 section 5 for SHA-1,
 * RFC 7677 section 3 for SHA-256: user "user", password "pencil"); throws on any difference. Run by
 * the bench before it logs in to ejabberd, so a broken replacement fails loudly, not as a refused login.
 */
export function checkScramVectors(): void {
  const vectors = [
    {
      hash: 'sha1' as const,
      nonce: 'fyko+d2lbbFgONRv9qkxdawL',
      serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
      clientFinal: 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
      serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=',
    },
    {
      hash: 'sha256' as const,
      nonce: 'rOprNGfwEbeRWgbNEkqO',
      serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
      clientFinal:
        'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
      serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
    },
  ];
  const cred = { username: 'user', password: 'pencil' };
  for (const v of vectors) {
    const Mech = scramMechanism(v.hash, () => v.nonce);
    const m = new Mech();
    if (m.response(cred) !== `n,,n=user,r=${v.nonce}`) throw new Error(`SCRAM ${v.hash}: client-first differs`);
    m.challenge(v.serverFirst);
    if (m.response(cred) !== v.clientFinal) throw new Error(`SCRAM ${v.hash}: client-final differs from the RFC`);
    m.challenge(v.serverFinal); // throws on a wrong server signature
    let refused = false;
    try {
      const bad = new Mech();
      void bad.response(cred);
      bad.challenge(v.serverFirst);
      void bad.response(cred);
      bad.challenge('v=AAAA');
    } catch {
      refused = true;
    }
    if (!refused) throw new Error(`SCRAM ${v.hash}: a wrong server signature was accepted`);
  }
}
