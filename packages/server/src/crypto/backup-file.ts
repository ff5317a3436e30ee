import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { aesGcmDecrypt, aesGcmEncrypt } from './primitives.js';
import { randomKey } from './tokens.js';

const MAGIC = Buffer.from('PALISADE-BACKUP-1\n');
const CHUNK = 1 << 20;
const TAG = 16;

/** What a backup file says about itself, in clear (it holds no secret: the key inside is wrapped). */
export interface BackupHeader {
  format: 'palisade-backup-v1';
  createdAt: string;
  dialect: 'sqlite' | 'postgres';
  /** The backup key, wrapped by the KMS's KEK of this version. */
  kms: { provider: string; version: number; wrappedKey: string };
  /** The local KMS's keyring (itself sealed by the master secret), so a restore on a new machine needs only that secret. */
  keyring?: unknown;
  /** Random 8-byte nonce prefix; each chunk's nonce is prefix || chunk index. */
  noncePrefix: string;
}

/** Thrown for a file that is not a Palisade backup, or was altered or cut short. */
export class BackupFormatError extends Error {
  override name = 'BackupFormatError';
}

const nonce = (prefix: Buffer, i: number) =>
  Buffer.concat([prefix, Buffer.from([(i >>> 24) & 255, (i >>> 16) & 255, (i >>> 8) & 255, i & 255])]);
const aad = (headerHash: Buffer, i: number, last: boolean) =>
  Buffer.concat([headerHash, Buffer.from(`:${i}:${last ? 'last' : 'more'}`)]);

/**
 * Encrypts `src` into `dest` (0600) as a Palisade backup: a clear header, then 1 MiB chunks sealed
 * with AES-256-GCM under `key`. Each chunk's AAD binds the header, its index and whether it is the
 * last, so chunks cannot be reordered, dropped, or the file cut short without detection.
 */
export async function encryptBackupFile(
  src: string,
  dest: string,
  key: Buffer,
  header: Omit<BackupHeader, 'noncePrefix'>,
): Promise<number> {
  const full: BackupHeader = { ...header, noncePrefix: randomKey(8).toString('base64') };
  const headerBytes = Buffer.from(JSON.stringify(full));
  const headerHash = createHash('sha256').update(headerBytes).digest();
  const prefix = Buffer.from(full.noncePrefix, 'base64');
  const input = await open(src, 'r');
  const out = await open(dest, 'wx', 0o600);
  try {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(headerBytes.length);
    await out.write(Buffer.concat([MAGIC, len, headerBytes]));
    const size = (await input.stat()).size;
    const chunks = Math.max(1, Math.ceil(size / CHUNK));
    const buf = Buffer.alloc(CHUNK);
    for (let i = 0; i < chunks; i++) {
      const { bytesRead } = await input.read(buf, 0, CHUNK, i * CHUNK);
      const { ct, tag } = aesGcmEncrypt(
        key,
        nonce(prefix, i),
        buf.subarray(0, bytesRead),
        aad(headerHash, i, i === chunks - 1),
      );
      const n = Buffer.alloc(4);
      n.writeUInt32BE(ct.length);
      await out.write(Buffer.concat([n, ct, tag]));
    }
    await out.sync();
    return (await out.stat()).size;
  } finally {
    await input.close();
    await out.close();
  }
}

/** Reads and checks the clear header of a backup file. */
export async function readBackupHeader(
  path: string,
): Promise<{ header: BackupHeader; bodyOffset: number; headerHash: Buffer }> {
  const f = await open(path, 'r');
  try {
    const start = Buffer.alloc(MAGIC.length + 4);
    await f.read(start, 0, start.length, 0);
    if (!start.subarray(0, MAGIC.length).equals(MAGIC)) throw new BackupFormatError(`${path} is not a Palisade backup`);
    const len = start.readUInt32BE(MAGIC.length);
    if (len > 1 << 22) throw new BackupFormatError('backup header too large');
    const headerBytes = Buffer.alloc(len);
    const { bytesRead } = await f.read(headerBytes, 0, len, start.length);
    if (bytesRead !== len) throw new BackupFormatError('backup header cut short');
    let header: BackupHeader;
    try {
      header = JSON.parse(headerBytes.toString()) as BackupHeader;
    } catch {
      throw new BackupFormatError('backup header is not valid JSON');
    }
    if (header.format !== 'palisade-backup-v1')
      throw new BackupFormatError(`unknown backup format ${String(header.format)}`);
    const k = header.kms as Partial<BackupHeader['kms']> | undefined;
    if (
      typeof k !== 'object' ||
      k === null ||
      typeof k.provider !== 'string' ||
      !Number.isInteger(k.version) ||
      typeof k.wrappedKey !== 'string'
    )
      throw new BackupFormatError('backup header: the kms entry is malformed');
    if (typeof header.noncePrefix !== 'string' || Buffer.from(header.noncePrefix, 'base64').length !== 8)
      throw new BackupFormatError('backup header: the nonce prefix is malformed');
    if (header.dialect !== 'sqlite' && header.dialect !== 'postgres')
      throw new BackupFormatError(`backup header: unknown store dialect ${String(header.dialect)}`);
    return { header, bodyOffset: start.length + len, headerHash: createHash('sha256').update(headerBytes).digest() };
  } finally {
    await f.close();
  }
}

/** Called after each chunk of a long decryption: bytes of the backup file read so far, and its size. */
export type BackupProgress = (done: number, total: number) => void;

/**
 * Decrypts a backup's body into `dest` (0600); throws BackupFormatError if anything was altered.
 * SECURITY: `dest` holds unauthenticated bytes until this resolves: a caller must not use it (or
 * anything derived from it) unless the promise resolved; on a throw, delete it.
 */
export async function decryptBackupFile(
  path: string,
  dest: string,
  key: Buffer,
  onProgress: BackupProgress = () => undefined,
): Promise<BackupHeader> {
  const { header, bodyOffset, headerHash } = await readBackupHeader(path);
  const prefix = Buffer.from(header.noncePrefix, 'base64');
  const f = await open(path, 'r');
  const out = await open(dest, 'wx', 0o600);
  try {
    const size = (await f.stat()).size;
    let pos = bodyOffset;
    for (let i = 0; ; i++) {
      const n = Buffer.alloc(4);
      if ((await f.read(n, 0, 4, pos)).bytesRead !== 4) throw new BackupFormatError('backup cut short');
      const len = n.readUInt32BE();
      if (len > CHUNK) throw new BackupFormatError('backup chunk too large');
      const body = Buffer.alloc(len + TAG);
      if ((await f.read(body, 0, body.length, pos + 4)).bytesRead !== body.length)
        throw new BackupFormatError('backup cut short');
      pos += 4 + body.length;
      const last = pos === size;
      let plain: Buffer;
      try {
        plain = aesGcmDecrypt(
          key,
          nonce(prefix, i),
          body.subarray(0, len),
          body.subarray(len),
          aad(headerHash, i, last),
        );
      } catch {
        throw new BackupFormatError(
          `backup chunk ${i} does not open: the file was altered, cut short, or the key is wrong`,
        );
      }
      await out.write(plain);
      onProgress(pos, size);
      if (last) break;
    }
    await out.sync();
    return header;
  } finally {
    await f.close();
    await out.close();
  }
}
