import { expect, it } from 'vitest';
import { authenticateToken, enrol } from '../../auth/index.js';
import { AddressBlocks, exactAddress } from '../../limits/index.js';
import { loadAddressBlocks } from './sealed.js';
import { auditRecords } from '../../test-support/audit.js';
import { responderFixture } from '../../test-support/responder.js';
import { loginAgain, PASS } from '../../test-support/users.js';
import { withAllStores } from '../../test-support/with-all-stores.js';

const MIN = 60_000;

withAllStores('response: blocks, throttles, undo, expiry, audit', (h) => {
  it('brute force from an address: the address is blocked at login and enrolment, throttled, within 1 s; undo restores', async () => {
    const fx = await responderFixture(h.get());
    const f = fx.finding({ ruleId: 'auth.brute_force.address', subject: { kind: 'address', id: '198.51.100.7' } });
    const t0 = performance.now();
    const [cs, again] = await Promise.all([fx.responder.respond(f), fx.responder.respond(f)]);
    const elapsed = performance.now() - t0; // real time, on the real store: the 1 s budget
    expect(elapsed).toBeLessThan(1000);
    expect(again.map((c) => c.id)).toEqual(cs.map((c) => c.id));
    expect(cs.map((c) => [c.action, c.state, c.subject.id])).toEqual([
      ['block_address', 'active', '198.51.100.7/32'],
      ['throttle', 'active', '198.51.100.7/32'],
    ]);
    for (const c of cs) expect(c.appliedAt! - f.at).toBeLessThan(1000);
    expect(cs[0]!.expiresAt).toBe(f.at + 15 * MIN);
    // SECURITY: the address is sealed at rest (blocks and containment subjects), found by a blind index.
    const stored = JSON.stringify([
      await h.get().db.selectFrom('address_blocks').selectAll().execute(),
      await h.get().db.selectFrom('containments').selectAll().where('finding_id', '=', f.id).execute(),
    ]);
    expect(stored).not.toContain('198.51.100.7');
    // Enforced: login (before any password work), MFA, enrolment; IPv4-mapped form too.
    await expect(loginAgain(fx.deps.auth, fx.victim, '198.51.100.7')).rejects.toMatchObject({
      code: 'address_blocked',
    });
    await expect(loginAgain(fx.deps.auth, fx.victim, '::ffff:198.51.100.7')).rejects.toMatchObject({
      code: 'address_blocked',
    });
    await expect(
      enrol(fx.deps.auth, { token: 'x'.repeat(43), username: 'nobody', password: PASS }, '198.51.100.7'),
    ).rejects.toMatchObject({ code: 'address_blocked' });
    expect(fx.blocks.isBlocked('198.51.100.8')).toBe(false);
    await loginAgain(fx.deps.auth, fx.victim, '198.51.100.8');
    expect(fx.deps.auth.limiter.penaltyFactor(exactAddress('198.51.100.7'))).toBe(10);
    // SECURITY: loopback is never blocked, whatever the finding says.
    const lo = await fx.responder.respond(
      fx.finding({ ruleId: 'auth.brute_force.address', subject: { kind: 'address', id: '127.0.0.1' } }),
    );
    expect(lo.map((c) => c.action)).toEqual(['throttle']);
    expect(fx.blocks.isBlocked('127.0.0.1')).toBe(false);

    // Undo needs policy.manage: a member is refused.
    await expect(fx.responder.undo(cs[0]!.id, fx.other())).rejects.toMatchObject({ code: 'forbidden' });
    // ... and a recent step-up.
    await expect(fx.responder.undo(cs[0]!.id, { ...fx.admin(), strongAuthAt: null })).rejects.toMatchObject({
      code: 'step_up_required',
    });
    for (const c of cs) expect(await fx.responder.undo(c.id, fx.admin())).toMatchObject({ state: 'undone' });
    await expect(fx.responder.undo(cs[0]!.id, fx.admin())).rejects.toMatchObject({ code: 'already_decided' });
    await loginAgain(fx.deps.auth, fx.victim, '198.51.100.7');
    expect(fx.deps.auth.limiter.penaltyFactor(exactAddress('198.51.100.7'))).toBe(1);

    const applied = await auditRecords(h.get().db, fx.deps.auth.sealer, { target: cs[0]!.id });
    expect(applied.map((a) => [a.action, a.actorId])).toEqual([
      ['containment.applied', null],
      ['containment.undone', fx.admin().userId],
    ]);
    expect(applied[0]!.details).toMatchObject({ findingId: f.id, ruleId: f.ruleId, action: 'block_address' });
  });

  it('credential stuffing blocks the network; expiry (timer) lifts it and is audited; respond is idempotent per finding', async () => {
    const fx = await responderFixture(h.get());
    await fx.responder.start();
    const f = fx.finding({ ruleId: 'auth.credential_stuffing', subject: { kind: 'address', id: '203.0.113.50' } });
    const [c] = await fx.responder.respond(f);
    expect(c).toMatchObject({ action: 'block_network', subject: { kind: 'network', id: '203.0.113.0/24' } });
    expect((await fx.responder.respond(f)).map((x) => x.id)).toEqual([c!.id]);
    await expect(loginAgain(fx.deps.auth, fx.victim, '203.0.113.9')).rejects.toMatchObject({ code: 'address_blocked' });
    fx.deps.clock.advance(59 * MIN);
    expect(fx.blocks.isBlocked('203.0.113.9')).toBe(true);
    fx.deps.clock.advance(2 * MIN); // past the hour: the sweep runs on the fake clock's timer
    await expect.poll(async () => (await fx.responder.list({ findingId: f.id }))[0]?.state).toBe('expired');
    expect(fx.blocks.isBlocked('203.0.113.9')).toBe(false);
    await loginAgain(fx.deps.auth, fx.victim, '203.0.113.9');
    const rec = await auditRecords(h.get().db, fx.deps.auth.sealer, { target: c!.id, action: 'containment.expired' });
    expect(rec).toHaveLength(1);
    expect(await fx.responder.expireDue()).toBe(0);
    fx.responder.stop();
  });

  it('another node sees a block after its refresh timer; neverBlock networks are refused and the step fails, audited', async () => {
    const fx = await responderFixture(h.get(), { neverBlock: ['192.0.2.0/24'] });
    const [failed] = await fx.responder.respond(
      fx.finding({ ruleId: 'auth.credential_stuffing', subject: { kind: 'network', id: '192.0.2.0/24' } }),
    );
    expect(failed).toMatchObject({ state: 'failed', appliedAt: null });
    const fa = await auditRecords(h.get().db, fx.deps.auth.sealer, { target: failed!.id });
    expect(fa.map((a) => [a.action, a.outcome])).toEqual([['containment.failed', 'failure']]);

    const node2 = new AddressBlocks({
      clock: fx.deps.clock,
      timers: fx.deps.clock,
      refreshMs: 5000,
      load: () => loadAddressBlocks(h.get().db, fx.deps.auth.sealer, fx.deps.clock),
    });
    await node2.start();
    await fx.responder.respond(
      fx.finding({ ruleId: 'auth.brute_force.address', subject: { kind: 'address', id: '2001:db8::5' } }),
    );
    expect(fx.blocks.isBlocked('2001:db8::5')).toBe(true);
    expect(node2.isBlocked('2001:db8::5')).toBe(false);
    fx.deps.clock.advance(5000);
    await expect.poll(() => node2.isBlocked('2001:db8:0:0::5')).toBe(true);
    node2.stop();
  });

  it('dry run records what it would do (audited) and enforces nothing; a disabled responder does nothing', async () => {
    const fx = await responderFixture(h.get(), { dryRun: true });
    const cs = await fx.responder.respond(
      fx.finding({ ruleId: 'auth.brute_force.address', subject: { kind: 'address', id: '198.51.100.9' } }),
    );
    expect(cs.map((c) => [c.state, c.undoneBy])).toEqual([
      ['undone', 'dry_run'],
      ['undone', 'dry_run'],
    ]);
    expect(fx.blocks.isBlocked('198.51.100.9')).toBe(false);
    expect(await auditRecords(h.get().db, fx.deps.auth.sealer, { action: 'containment.dry_run' })).not.toHaveLength(0);
    const off = await responderFixture(h.get(), { enabled: false });
    expect(
      await off.responder.respond(
        off.finding({ ruleId: 'auth.brute_force.address', subject: { kind: 'address', id: '198.51.100.9' } }),
      ),
    ).toEqual([]);
  });

  it('undoDrill undoes every containment of a drill and only those; list filters by drill, state and time', async () => {
    const fx = await responderFixture(h.get());
    const t0 = fx.deps.clock.now();
    const drill = 'drill-' + t0.toString(36);
    await fx.responder.respond(
      fx.finding({ ruleId: 'auth.brute_force.address', subject: { kind: 'address', id: '198.51.100.20' }, drill }),
    );
    await fx.responder.respond(
      fx.finding({
        ruleId: 'org.mass_deletion',
        subject: { kind: 'organisation', id: 'org' },
        userId: fx.victim.userId,
        drill,
      }),
    );
    const real = await fx.responder.respond(
      fx.finding({ ruleId: 'auth.brute_force.address', subject: { kind: 'address', id: '198.51.100.21' } }),
    );
    expect((await fx.responder.list({ drill })).map((c) => c.state).sort()).toEqual([
      'active',
      'active',
      'pending_approval',
    ]);
    expect(await fx.responder.undoDrill(drill, fx.admin())).toBe(3);
    expect(
      (await fx.responder.list({ drill })).every((c) => c.state === 'undone' && c.undoneBy === fx.admin().userId),
    ).toBe(true);
    expect(fx.blocks.isBlocked('198.51.100.20')).toBe(false);
    expect(fx.blocks.isBlocked('198.51.100.21')).toBe(true);
    expect((await fx.responder.list({ findingId: real[0]!.findingId, state: 'active' })).length).toBe(2);
    expect(await fx.responder.list({ since: fx.deps.clock.now() + 1 })).toEqual([]);
    await authenticateToken(fx.deps.auth, (await loginAgain(fx.deps.auth, fx.victim, '198.51.100.20')).token);
  });
});
