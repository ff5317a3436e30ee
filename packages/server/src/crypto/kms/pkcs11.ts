import pkcs11 from 'pkcs11js';
import type * as P from 'pkcs11js';

// pkcs11js is CommonJS with runtime-built exports: use its default export for values.
const pkcs11js = pkcs11;
import type { Kms } from './kms.js';

/** Where the HSM is and how to log in to it. */
export interface Pkcs11Options {
  /** Path of the vendor's PKCS#11 module (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so). */
  library: string;
  /** Label of the token that holds Palisade's KEKs. */
  tokenLabel: string;
  /** The token's user PIN (resolved from secret:// by the caller; never logged). */
  pin: string;
  /** Prefix of the KEK object labels; KEK version N is `<prefix>-v<N>`. */
  labelPrefix?: string;
  now?: () => number;
}

interface KekEntry {
  version: number;
  createdAt: number;
  handle: P.Handle;
}

const WRAP = { mechanism: pkcs11js.CKM_AES_KEY_WRAP_PAD };

/** PKCS#11 session states of a logged-in user: CKS_RO_USER_FUNCTIONS (1), CKS_RW_USER_FUNCTIONS (3). */
const USER_SESSION_STATES = new Set([1, 3]);

/**
 * KMS over any PKCS#11 token (tested with SoftHSM2). Each KEK version is an AES-256 key generated
 * inside the token; data keys are wrapped and unwrapped by the token (AES key wrap with padding,
 * RFC 5649), so the KEK never exists in this process's memory.
 * SECURITY: KEKs are created sensitive and non-extractable; the PIN is held only in the session.
 */
export class Pkcs11Kms implements Kms {
  readonly provider = 'pkcs11';
  private readonly lib: P.PKCS11;
  private readonly session: P.Handle;
  private readonly prefix: string;
  private readonly now: () => number;
  private keks: KekEntry[] = [];
  /** One operation at a time on the session (Cryptoki sessions are not for concurrent use). */
  private queue: Promise<unknown> = Promise.resolve();

  private exclusive<T>(fn: () => T | PromiseLike<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private constructor(opts: Pkcs11Options) {
    this.prefix = opts.labelPrefix ?? 'palisade-kek';
    this.now = opts.now ?? (() => Date.now());
    this.lib = new pkcs11js.PKCS11();
    this.lib.load(opts.library);
    try {
      // The async calls below run on libuv's thread pool: let the module use its own locking.
      this.lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    } catch (e) {
      // Another Pkcs11Kms in this process initialised the module already; that is fine.
      if (!(e instanceof pkcs11js.Pkcs11Error && e.code === pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED)) throw e;
    }
    const slot = this.lib.C_GetSlotList(true).find((s) => this.lib.C_GetTokenInfo(s).label.trim() === opts.tokenLabel);
    if (!slot)
      throw new Error(
        `no PKCS#11 token labelled "${opts.tokenLabel}" in ${opts.library} (check keys.pkcs11.tokenLabel)`,
      );
    this.session = this.lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      this.lib.C_Login(this.session, pkcs11js.CKU_USER, opts.pin);
    } catch (e) {
      if (e instanceof pkcs11js.Pkcs11Error && e.code === pkcs11js.CKR_USER_ALREADY_LOGGED_IN) return;
      this.lib.C_CloseSession(this.session);
      throw new Error('the PKCS#11 token refused the PIN (check keys.pkcs11.pin)');
    }
  }

  /** Loads the module, finds the token and logs in, then closes the session: creates nothing. */
  static probe(opts: Pkcs11Options): void {
    new Pkcs11Kms(opts).close();
  }

  /** Opens the token, logs in and loads (or, on first use, creates) the KEK versions. */
  static open(opts: Pkcs11Options): Pkcs11Kms {
    const kms = new Pkcs11Kms(opts);
    kms.keks = kms.findKeks();
    if (kms.keks.length === 0) kms.addVersion();
    return kms;
  }

  private findKeks(): KekEntry[] {
    this.lib.C_FindObjectsInit(this.session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
      { type: pkcs11js.CKA_TOKEN, value: true },
    ]);
    const handles: P.Handle[] = [];
    for (;;) {
      const batch = this.lib.C_FindObjects(this.session, 64);
      if (batch.length === 0) break;
      handles.push(...batch);
    }
    this.lib.C_FindObjectsFinal(this.session);
    const pattern = new RegExp(`^${this.prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-v(\\d+)$`);
    const found: KekEntry[] = [];
    for (const handle of handles) {
      const [label, id] = this.lib.C_GetAttributeValue(this.session, handle, [
        { type: pkcs11js.CKA_LABEL },
        { type: pkcs11js.CKA_ID },
      ]);
      const m = pattern.exec(label?.value?.toString() ?? '');
      if (!m) continue;
      // CKA_ID carries the creation time: "<version>:<epoch ms>".
      const createdAt = Number(id?.value?.toString().split(':')[1] ?? 0);
      found.push({ version: Number(m[1]), createdAt, handle });
    }
    return found.sort((a, b) => a.version - b.version);
  }

  private addVersion(): number {
    const version = (this.keks.at(-1)?.version ?? 0) + 1;
    const createdAt = this.now();
    // SECURITY: generated in the token, sensitive and never extractable; usable only to wrap/unwrap.
    const handle = this.lib.C_GenerateKey(this.session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
      { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_PRIVATE, value: true },
      { type: pkcs11js.CKA_SENSITIVE, value: true },
      { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      { type: pkcs11js.CKA_WRAP, value: true },
      { type: pkcs11js.CKA_UNWRAP, value: true },
      { type: pkcs11js.CKA_ENCRYPT, value: false },
      { type: pkcs11js.CKA_DECRYPT, value: false },
      { type: pkcs11js.CKA_LABEL, value: `${this.prefix}-v${version}` },
      { type: pkcs11js.CKA_ID, value: Buffer.from(`${version}:${createdAt}`) },
    ]);
    this.keks = [...this.keks, { version, createdAt, handle }];
    return version;
  }

  private kek(version: number): P.Handle {
    const entry = this.keks.find((k) => k.version === version);
    if (!entry) throw new Error(`no KEK version ${version} in the PKCS#11 token`);
    return entry.handle;
  }

  /** Attributes of a KEK as the token reports them (for tests and status): proves non-extractability. */
  kekAttributes(version: number): { sensitive: boolean; extractable: boolean } {
    const [s, x] = this.lib.C_GetAttributeValue(this.session, this.kek(version), [
      { type: pkcs11js.CKA_SENSITIVE },
      { type: pkcs11js.CKA_EXTRACTABLE },
    ]);
    return { sensitive: s?.value?.[0] === 1, extractable: x?.value?.[0] === 1 };
  }

  /** Tries to read a KEK's value out of the token; the token must refuse. */
  tryReadKek(version: number): Buffer | undefined {
    const [v] = this.lib.C_GetAttributeValue(this.session, this.kek(version), [{ type: pkcs11js.CKA_VALUE }]);
    return v?.value;
  }

  currentVersion(): Promise<number> {
    return Promise.resolve(this.keks[this.keks.length - 1]!.version);
  }

  /** Readiness: the session is still open and logged in (one C_GetSessionInfo, no key operation). */
  health(): Promise<string | undefined> {
    return this.exclusive(() => {
      try {
        const { state } = this.lib.C_GetSessionInfo(this.session);
        return USER_SESSION_STATES.has(state) ? undefined : 'the PKCS#11 session is not logged in';
      } catch {
        return 'the PKCS#11 session is gone (token removed or module failed)';
      }
    });
  }

  versions() {
    return Promise.resolve(this.keks.map((k) => ({ version: k.version, createdAt: k.createdAt })));
  }

  wrap(dataKey: Uint8Array) {
    return this.exclusive(() => this.wrapNow(dataKey));
  }

  unwrap(version: number, wrapped: Uint8Array) {
    return this.exclusive(() => this.unwrapNow(version, wrapped));
  }

  private async wrapNow(dataKey: Uint8Array) {
    const entry = this.keks[this.keks.length - 1]!;
    // The data key enters the token as a short-lived session object, is wrapped there, then destroyed.
    const obj = this.lib.C_CreateObject(this.session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_GENERIC_SECRET },
      { type: pkcs11js.CKA_TOKEN, value: false },
      { type: pkcs11js.CKA_EXTRACTABLE, value: true },
      { type: pkcs11js.CKA_SENSITIVE, value: false },
      { type: pkcs11js.CKA_VALUE, value: Buffer.from(dataKey) },
    ]);
    try {
      const wrapped = await this.lib.C_WrapKeyAsync(
        this.session,
        WRAP,
        entry.handle,
        obj,
        Buffer.alloc(dataKey.length + 16),
      );
      return { version: entry.version, wrapped: Buffer.from(wrapped) };
    } finally {
      this.lib.C_DestroyObject(this.session, obj);
    }
  }

  private async unwrapNow(version: number, wrapped: Uint8Array) {
    const obj = await this.lib.C_UnwrapKeyAsync(this.session, WRAP, this.kek(version), Buffer.from(wrapped), [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_GENERIC_SECRET },
      { type: pkcs11js.CKA_TOKEN, value: false },
      { type: pkcs11js.CKA_EXTRACTABLE, value: true },
      { type: pkcs11js.CKA_SENSITIVE, value: false },
    ]);
    try {
      const [v] = this.lib.C_GetAttributeValue(this.session, obj, [{ type: pkcs11js.CKA_VALUE }]);
      if (!v?.value) throw new Error('the token returned no key value');
      return Buffer.from(v.value);
    } finally {
      this.lib.C_DestroyObject(this.session, obj);
    }
  }

  rotate() {
    return this.exclusive(() => this.addVersion());
  }

  destroyVersion(version: number) {
    return this.exclusive(async () => {
      if (version === (await this.currentVersion())) throw new Error('the current KEK version cannot be destroyed');
      this.lib.C_DestroyObject(this.session, this.kek(version));
      this.keks = this.keks.filter((k) => k.version !== version);
    });
  }

  /** Closes the session (the module stays loaded for other users in the process). */
  close(): void {
    // No C_Logout: login state is shared by every session of this process on the token.
    this.lib.C_CloseSession(this.session);
  }
}
