import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { FakeClock, silentLogger, type Logger } from '../core/index.js';
import { LocalKms, Pkcs11Kms, randomId, randomKey, type Kms } from '../crypto/index.js';
import { softHsmToken } from '../test-support/softhsm.js';
import { withAllStores } from '../test-support/with-all-stores.js';
import { aadOf, EnvelopeSealer, KeyRotation, payloadAad, scopeOf } from './index.js';

const DAY = 86_400_000;
const hsm = softHsmToken();
const providers: Record<string, ((clock: FakeClock) => Kms) | undefined> = {
  local: (clock) =>
    new LocalKms(join(mkdtempSync(join(tmpdir(), 'palisade-rot-')), 'keyring.json'), randomKey(32), () => clock.now()),
  pkcs11:
    hsm &&
    ((clock) => Pkcs11Kms.open({ ...hsm, labelPrefix: `rot-${randomKey(6).toString('hex')}`, now: () => clock.now() })),
};

/** A logger that keeps warnings, to see the overdue warning. */
function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const log: Logger & { warnings: string[] } = {
    ...silentLogger,
    warnings,
    warn: (_o, msg) => void warnings.push(msg ?? ''),
    child: () => log,
  };
  return log;
}

for (const [provider, makeKms] of Object.entries(providers)) {
  if (!makeKms) continue;
  withAllStores(`key rotation, re-encryption and the rotation schedule (${provider} KMS)`, (h) => {
    // One KMS per store (every data key in a store is wrapped by it); a clock the tests move.
    const clock = new FakeClock();
    let kms: Kms | undefined;
    const setup = (policy = { rotateEveryDays: 90, autoRotate: true }) => {
      kms ??= makeKms(clock);
      const log = recordingLogger();
      const sealer = new EnvelopeSealer(h.get().db, kms, clock);
      return { kms, sealer, log, rotation: new KeyRotation(h.get().db, sealer, kms, clock, log, policy) };
    };
    const addUser = async (sealer: EnvelopeSealer, displayName: string | null, clear = false) => {
      const id = randomId();
      await sealer.prepare(scopeOf.user(id));
      const value =
        displayName === null || clear
          ? displayName
          : sealer.sealText(displayName, aadOf('users', 'display_name', id), scopeOf.user(id));
      await h
        .get()
        .db.insertInto('users')
        .values({
          id,
          username: `u${id.slice(0, 12)}`,
          display_name: value,
          email: null,
          email_index: null,
          password_hash: 'x',
          role: 'member',
          disabled_at: null,
          created_at: clock.now(),
          mfa_grace_from: clock.now(),
        })
        .execute();
      return id;
    };
    const displayName = async (id: string) =>
      (await h.get().db.selectFrom('users').select('display_name').where('id', '=', id).executeTakeFirstOrThrow())
        .display_name!;

    it('warns when the KEK is overdue, or rotates by itself when automatic', async () => {
      const manual = setup({ rotateEveryDays: 90, autoRotate: false });
      const start = await manual.kms.currentVersion();
      clock.advance(89 * DAY);
      expect(await manual.rotation.checkSchedule()).toBeUndefined();
      expect(manual.log.warnings).toEqual([]);
      clock.advance(2 * DAY);
      expect((await manual.rotation.schedule()).overdue).toBe(true);
      expect(await manual.rotation.checkSchedule()).toBeUndefined();
      expect(manual.log.warnings).toEqual([expect.stringMatching(/rotation is overdue/)]);
      expect(await manual.kms.currentVersion()).toBe(start);
      const auto = setup();
      const r = await auto.rotation.checkSchedule();
      expect(r?.version).toBe(start + 1);
      const st = await auto.rotation.status();
      expect(st.overdue).toBe(false);
      expect(st.nextRotationAt).toBe(clock.now() + 90 * DAY);
      expect(st.kekVersions.at(-1)).toMatchObject({ version: start + 1, ageDays: 0 });
    });

    it('seals clear legacy values in place; a sealed value moved to another row does not open', async () => {
      const { sealer, rotation } = setup();
      const legacy = await addUser(sealer, 'Legacy Lena', true);
      const other = await addUser(sealer, 'Other Otto');
      const report = await rotation.sealLegacy();
      expect(report?.sealedLegacy).toBeGreaterThanOrEqual(1);
      // Once done, later starts skip the pass (it is journalled).
      expect(await rotation.sealLegacy()).toBeUndefined();
      expect(await displayName(legacy)).not.toContain('Lena');
      expect(await sealer.openText(await displayName(legacy), aadOf('users', 'display_name', legacy))).toBe(
        'Legacy Lena',
      );
      // Copy Otto's sealed name into Lena's row: it refuses to open there (AAD binds the row).
      await h
        .get()
        .db.updateTable('users')
        .set({ display_name: await displayName(other) })
        .where('id', '=', legacy)
        .execute();
      await expect(
        sealer.openText(await displayName(legacy), aadOf('users', 'display_name', legacy)),
      ).rejects.toThrow();
      await expect(sealer.openText(await displayName(other), aadOf('users', 'email', other))).rejects.toThrow();
      // The re-encryption walker reports such a value as unreadable and leaves it alone.
      const walk = await setup().rotation.rotate({ reencrypt: true });
      expect(walk.reencrypt?.failed).toBe(1);
      await h.get().db.deleteFrom('users').where('id', '=', legacy).execute();
    });

    it('re-encrypts every value under new data keys; an interrupted job is finished by resume()', async () => {
      const { sealer, rotation } = setup();
      const ids = [await addUser(sealer, 'Ada'), await addUser(sealer, 'Bo')];
      const keyOf = async (id: string) => (await displayName(id)).split('.')[1];
      const before = await Promise.all(ids.map(keyOf));
      const r = await rotation.rotate({ reencrypt: true });
      expect(r.reencrypt?.failed).toBe(0);
      const after = await Promise.all(ids.map(keyOf));
      for (let i = 0; i < ids.length; i++) expect(after[i]).not.toBe(before[i]);
      expect((await rotation.status()).retiredDataKeys).toBeGreaterThanOrEqual(2);
      // A crash right after the keys were retired: the journal says unfinished; resume() finishes it.
      await h
        .get()
        .db.insertInto('key_jobs')
        .values({ id: randomId(), kind: 'reencrypt', started_at: clock.now(), finished_at: null, report: null })
        .execute();
      await sealer.retireActiveKeys();
      const fresh = setup().rotation; // a new process: nothing cached
      const resumed = await fresh.resume();
      expect(resumed.reencrypt?.resealed).toBeGreaterThanOrEqual(2);
      expect(await h.get().db.selectFrom('key_jobs').select('id').where('finished_at', 'is', null).execute()).toEqual(
        [],
      );
      const reader = new EnvelopeSealer(h.get().db, kms!, clock);
      expect(await reader.openText(await displayName(ids[0]!), aadOf('users', 'display_name', ids[0]!))).toBe('Ada');
      expect(await keyOf(ids[0]!)).not.toBe(after[0]);
    });

    it('tells its audit hook of every key operation, with versions and counts and no key material', async () => {
      const { kms: k, sealer, log } = setup();
      const heard: { action: string; details: Record<string, unknown> }[] = [];
      const rotation = new KeyRotation(
        h.get().db,
        sealer,
        k,
        clock,
        log,
        { rotateEveryDays: 90, autoRotate: true },
        (action, details) => Promise.resolve(void heard.push({ action, details })),
      );
      await addUser(sealer, 'Ola');
      await rotation.rotate({ reencrypt: true });
      clock.advance(31 * DAY);
      const destroyed = await rotation.prune(30);
      const version = await k.currentVersion();
      expect(heard.map((x) => x.action)).toEqual(['keys.kek_rotated', 'keys.reencrypted', 'keys.kek_destroyed']);
      expect(heard[0]?.details).toMatchObject({ version });
      expect(heard[2]?.details).toEqual({ versions: destroyed });
      // A failing hook is logged; the operation stands.
      const failing = new KeyRotation(
        h.get().db,
        sealer,
        k,
        clock,
        log,
        { rotateEveryDays: 90, autoRotate: true },
        () => Promise.reject(new Error('audit store down')),
      );
      await expect(failing.rotate()).resolves.toMatchObject({ version: version + 1 });
    });

    it('prunes KEK versions replaced long enough ago that no live data key uses', async () => {
      const { kms: k, sealer, rotation } = setup();
      const pia = await addUser(sealer, 'Pia');
      await rotation.rotate();
      const current = await k.currentVersion();
      expect(await rotation.prune(30)).toEqual([]); // replaced just now
      clock.advance(31 * DAY);
      const destroyed = await rotation.prune(30);
      expect(destroyed.length).toBeGreaterThanOrEqual(1);
      expect(destroyed).not.toContain(current);
      expect((await k.versions()).map((v) => v.version)).toEqual([current]);
      // Everything live was rewrapped under the current version: it still opens from a cold start.
      const cold = new EnvelopeSealer(h.get().db, k, clock);
      expect(await cold.openText(await displayName(pia), aadOf('users', 'display_name', pia))).toBe('Pia');
    });

    it('a shutdown stops a background re-encryption at a page boundary; the next start finishes it', async () => {
      const { sealer, rotation } = setup();
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push(await addUser(sealer, `Stop ${i}`));
      clock.advance(1_000); // this job is the newest one
      const started = await rotation.startReencrypt();
      await rotation.stop();
      const job = await h
        .get()
        .db.selectFrom('key_jobs')
        .selectAll()
        .where('id', '=', started.job)
        .executeTakeFirstOrThrow();
      expect(job.finished_at).toBeNull();
      const next = setup().rotation;
      const resumed = await next.resume();
      expect(resumed.reencrypt?.complete).toBe(true);
      expect(resumed.reencrypt?.resealed).toBeGreaterThanOrEqual(5);
      expect((await next.status()).lastReencrypt).toMatchObject({ id: started.job, finishedAt: expect.any(Number) });
      expect(await sealer.openText(await displayName(ids[4]!), aadOf('users', 'display_name', ids[4]!))).toBe('Stop 4');
    });

    it('--reencrypt also seals payloads stored as received, when payload sealing is on', async () => {
      const { kms: k, sealer, log } = setup();
      const conv = randomId();
      await h
        .get()
        .db.insertInto('conversations')
        .values({
          id: conv,
          kind: 'group',
          name: null,
          topic: null,
          direct_key: null,
          last_seq: 1,
          created_at: clock.now(),
        })
        .execute();
      const clear = Buffer.from('stored before sealing was on');
      await h
        .get()
        .db.insertInto('messages')
        .values({
          conversation_id: conv,
          seq: 1,
          sender_id: 's',
          sender_device_id: 'd',
          client_msg_id: 'm1',
          payload: clear,
          sealed: 0,
          created_at: clock.now(),
        })
        .execute();
      const row = () =>
        h
          .get()
          .db.selectFrom('messages')
          .select(['payload', 'sealed'])
          .where('conversation_id', '=', conv)
          .executeTakeFirstOrThrow();
      // Sealing off: a re-encryption leaves it as it is.
      await new KeyRotation(h.get().db, sealer, k, clock, log, {
        rotateEveryDays: 90,
        autoRotate: true,
        sealPayloads: false,
      }).rotate({ reencrypt: true });
      expect((await row()).sealed).toBe(0);
      const r = await new KeyRotation(h.get().db, sealer, k, clock, log, {
        rotateEveryDays: 90,
        autoRotate: true,
        sealPayloads: true,
      }).rotate({ reencrypt: true });
      expect(r.reencrypt?.sealedLegacy).toBeGreaterThanOrEqual(1);
      const after = await row();
      expect(after.sealed).toBe(1);
      expect(Buffer.from(after.payload).includes(clear)).toBe(false);
      expect(Buffer.from(await sealer.unsealBytes(after.payload, payloadAad(conv, 's', 'm1'))).equals(clear)).toBe(
        true,
      );
    });
  });
}
