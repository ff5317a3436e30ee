import {
  decodeDeviceCredential,
  MAX_KEY_PACKAGE_LIFETIME_MS,
  type KeyPackageStock,
  type UploadKeyPackagesRequest,
} from '@palisade/protocol';
import { AppError, type Principal } from '../core/index.js';
import type { Executor } from '../store/index.js';
import type { E2eeDeps } from './deps.js';
import { fromB64Url, ownDevice, toB64Url } from './device.js';
import { readKeyPackage } from './mls-wire.js';

/** Most KeyPackages (one-time and last resort) one device may keep in the directory. */
const MAX_STORED_PER_DEVICE = 500;

interface Checked {
  ref: string;
  data: Uint8Array;
  lastResort: boolean;
  notAfter: number;
}

/**
 * Stores a batch of this device's KeyPackages, all or none.
 * SECURITY: each must verify as a signed MLS KeyPackage of an allowed suite, valid NOW with a lifetime
 * of at most 90 days, whose leaf signature key IS this device's key and whose basic credential names
 * this user and this device (with the same key). A new last-resort package replaces the old one.
 */
export async function uploadKeyPackages(
  deps: E2eeDeps,
  principal: Principal,
  body: UploadKeyPackagesRequest,
): Promise<KeyPackageStock> {
  const m = deps.messaging;
  m.limiter.check('message.send', principal.deviceId);
  const device = await ownDevice(m.db, principal);
  const now = m.clock.now();
  const checked: Checked[] = [];
  for (const [index, p] of body.packages.entries()) {
    try {
      checked.push(await check(principal, device.publicKey, p.keyPackage, p.lastResort === true, now));
    } catch (e) {
      if (e instanceof AppError) throw new AppError(e.code, e.message, { details: { index, ...reasonOf(e) } });
      throw e;
    }
  }
  const lastResort = checked.filter((c) => c.lastResort).at(-1);
  const oneTime = dedupe(checked.filter((c) => !c.lastResort));
  await m.db.transaction().execute(async (tx) => {
    if (lastResort) {
      await tx.deleteFrom('key_packages').where('device_id', '=', device.id).where('last_resort', '=', 1).execute();
      await insert(tx, principal, lastResort, now);
    }
    for (const c of oneTime) await insert(tx, principal, c, now);
    const n = await tx
      .selectFrom('key_packages')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('device_id', '=', device.id)
      .executeTakeFirstOrThrow();
    if (Number(n.n) > MAX_STORED_PER_DEVICE)
      throw new AppError('invalid_key_package', `a device keeps at most ${MAX_STORED_PER_DEVICE} KeyPackages`, {
        details: { reason: 'too many stored' },
      });
  });
  return keyPackageStock(deps, principal);
}

/** This device's stock: usable one-time packages, and whether a usable last-resort package exists. */
export async function keyPackageStock(deps: E2eeDeps, principal: Principal): Promise<KeyPackageStock> {
  return stockOf(deps.messaging.db, principal.deviceId, deps.messaging.clock.now());
}

/** A device's stock at `now` (expired packages do not count). */
export async function stockOf(exec: Executor, deviceId: string, now: number): Promise<KeyPackageStock> {
  const rows = await exec
    .selectFrom('key_packages')
    .select(['last_resort', (eb) => eb.fn.countAll<number>().as('n')])
    .where('device_id', '=', deviceId)
    .where('not_after', '>', now)
    .groupBy('last_resort')
    .execute();
  const count = (lr: number) => Number(rows.find((r) => Number(r.last_resort) === lr)?.n ?? 0);
  return { stock: count(0), lastResort: count(1) > 0 };
}

async function check(
  principal: Principal,
  devicePublicKey: string,
  b64: string,
  lastResort: boolean,
  now: number,
): Promise<Checked> {
  const data = fromB64Url(b64);
  const kp = await readKeyPackage(data);
  const bad = (reason: string) => new AppError('invalid_key_package', undefined, { details: { reason } });
  if (kp.notBeforeMs > now || kp.notAfterMs <= now) throw bad('lifetime is not valid now');
  if (kp.notAfterMs - kp.notBeforeMs > MAX_KEY_PACKAGE_LIFETIME_MS) throw bad('lifetime longer than 90 days');
  // SECURITY: the MLS signature key is the device key; a package for another key is someone else's.
  if (toB64Url(kp.signatureKey) !== devicePublicKey) throw bad("signature key is not this device's key");
  if (!kp.identity) throw bad('credential is not a basic credential');
  const cred = decodeDeviceCredential(kp.identity);
  if (!cred.ok) throw bad('credential is not a device credential');
  const c = cred.value;
  if (c.userId !== principal.userId || c.deviceId !== principal.deviceId || c.signatureKey !== devicePublicKey)
    throw bad('credential names another user, device or key');
  return { ref: kp.ref, data, lastResort, notAfter: kp.notAfterMs };
}

function reasonOf(e: AppError): Record<string, unknown> {
  const d = e.details as { reason?: unknown } | undefined;
  return typeof d?.reason === 'string' ? { reason: d.reason } : {};
}

function dedupe(cs: Checked[]): Checked[] {
  const seen = new Map<string, Checked>();
  for (const c of cs) seen.set(c.ref, c);
  return [...seen.values()];
}

async function insert(tx: Executor, principal: Principal, c: Checked, now: number): Promise<void> {
  await tx
    .insertInto('key_packages')
    .values({
      ref: c.ref,
      user_id: principal.userId,
      device_id: principal.deviceId,
      data: c.data,
      last_resort: c.lastResort ? 1 : 0,
      not_after: c.notAfter,
      created_at: now,
    })
    // An upload of a package already stored (a retry) changes nothing.
    .onConflict((oc) => oc.column('ref').doNothing())
    .execute();
}
