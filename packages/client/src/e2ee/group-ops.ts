import { decodeDeviceCredential } from '@palisade/protocol';
import { toBase64Url } from '../bytes.js';
import { PalisadeError } from '../errors.js';
import { MlsError, type MlsGroup } from '../mls/adapter.js';
import {
  deviceChanges,
  groupIdOf,
  leafOwner,
  loadGroup,
  loadRecord,
  saveEntries,
  type E2eeContext,
} from './context.js';
import { legacyText } from './inbound.js';
import {
  json,
  keepEntries,
  keys,
  newConversationRecord,
  readJson,
  type IdentityRecord,
  type KeptMessage,
} from './local-records.js';
import { equalBytes } from './merkle.js';
import type { GroupStatus, PendingWelcome } from './ports.js';

/** A commit the server refused because another won the epoch: process the winner, then retry. */
export const isEpochConflict = (e: unknown) => e instanceof PalisadeError && e.code === 'epoch_conflict';

/**
 * Makes this device's group match who may read the conversation, in ONE commit: removes every leaf
 * that is not exactly one entitled device with the key the directory lists for it now (revoked
 * devices, users who left, a second leaf for one device, a "ghost" leaf naming THIS device's id with
 * another key) and adds every entitled device that is missing. With `refresh`, commits even when
 * nothing changed: a self-update that moves the group to a fresh epoch, so keys of an epoch this
 * device may already have used (a state restored from a backup) are never used again.
 * SECURITY: the server's lists are hints; after the commit every leaf must belong to an entitled
 * device, or nothing is sent (a server that swaps a KeyPackage cannot slip a device in).
 */
export async function reconcile(
  ctx: E2eeContext,
  conversationId: string,
  group: MlsGroup,
  opts: { status?: GroupStatus; refresh?: boolean } = {},
): Promise<MlsGroup> {
  const s = opts.status ?? (await ctx.delivery.groupStatus(conversationId));
  ctx.members.refreshDirectory(); // current keys: a re-keyed or revoked device shows at once
  const entitled = new Map(s.entitled.map((d) => [d.deviceId, d.userId]));
  const inTree = new Map<string, number>();
  const remove: number[] = [];
  for (const m of group.members()) {
    if (m.leafIndex === group.ownLeafIndex) continue;
    const o = leafOwner(m);
    const why = !o
      ? 'not a Palisade credential'
      : o.deviceId === ctx.me.deviceId
        ? 'a second leaf claims to be this device'
        : entitled.get(o.deviceId) !== o.userId || s.stale.includes(o.deviceId)
          ? undefined // no longer entitled: an ordinary removal
          : inTree.has(o.deviceId)
            ? 'a second leaf for one device'
            : !(await listedKey(ctx, o.userId, o.deviceId, m.signatureKey))
              ? 'its key is not the one the directory lists for the device'
              : null;
    if (why === null && o) inTree.set(o.deviceId, m.leafIndex);
    else {
      remove.push(m.leafIndex);
      if (why) ctx.notice({ kind: 'member_refused', conversationId, reason: `leaf ${m.leafIndex} removed: ${why}` });
    }
  }
  const wanted = [...entitled.keys()].filter((d) => d !== ctx.me.deviceId && !inTree.has(d));
  const claimed = wanted.length ? await ctx.delivery.claimKeyPackages(wanted) : { packages: [], missing: [] };
  if (claimed.missing.length) ctx.notice({ kind: 'no_key_packages', conversationId, deviceIds: claimed.missing });
  const add = [];
  for (const p of claimed.packages) {
    if (entitled.get(p.deviceId) !== p.userId) continue;
    const refusal = await checkKeyPackage(ctx, p);
    if (refusal) ctx.notice({ kind: 'member_refused', conversationId, reason: `device ${p.deviceId}: ${refusal}` });
    else add.push(p);
  }
  if (remove.length === 0 && add.length === 0 && group.epoch > 0 && !opts.refresh) return group;
  const result = await ctx.adapter.commit(group, { add: add.map((p) => p.keyPackage), remove });
  const seen = new Set<string>();
  for (const m of result.group.members()) {
    const o = leafOwner(m);
    const own = m.leafIndex === result.group.ownLeafIndex;
    if (
      !o ||
      seen.has(o.deviceId) ||
      (!own && (o.deviceId === ctx.me.deviceId || entitled.get(o.deviceId) !== o.userId))
    )
      throw new MlsError(
        'credential_refused',
        'after the commit a leaf belongs to a device that may not read this conversation',
      );
    seen.add(o.deviceId);
  }
  const before = new Set(group.members().map((m) => m.leafIndex));
  const removedMembers = group.members().filter((m) => remove.includes(m.leafIndex));
  const addedMembers = result.group.members().filter((m) => !before.has(m.leafIndex) || remove.includes(m.leafIndex));
  const accepted = await ctx.delivery.commit(conversationId, {
    epoch: group.epoch,
    commit: result.commit,
    welcome: result.welcome,
    groupInfo: result.groupInfo,
    added: add.map((p) => p.deviceId),
    removed: removedMembers.map((m) => leafOwner(m)?.deviceId).filter((d): d is string => d !== undefined),
    ...(group.epoch === 0 ? { suite: ctx.suite } : {}),
  });
  const rec = (await loadRecord(ctx, conversationId)) ?? newConversationRecord(0);
  rec.ownCommits = [...rec.ownCommits, accepted.seq].slice(-50);
  rec.e2eeSince ??= accepted.seq;
  await ctx.store.putMany(saveEntries(conversationId, result.group, rec));
  for (const n of deviceChanges(conversationId, addedMembers, removedMembers, ctx.me.deviceId)) ctx.notice(n);
  return result.group;
}

/** Whether `key` is the signature key of the credential the directory lists now for this device. */
async function listedKey(ctx: E2eeContext, userId: string, deviceId: string, key: Uint8Array): Promise<boolean> {
  const d = (await ctx.members.user(userId))?.devices.find((x) => x.deviceId === deviceId);
  const c = d ? decodeDeviceCredential(d.credential) : undefined;
  return c?.ok === true && c.value.signatureKey === toBase64Url(key);
}

/**
 * Why a claimed KeyPackage must not be added, or undefined when it may. SECURITY: its leaf must carry
 * a credential for exactly the device it was claimed for, and pass every identity check, BEFORE it is
 * committed (one forged device must not stop the conversation for everyone else).
 */
async function checkKeyPackage(
  ctx: E2eeContext,
  p: { userId: string; deviceId: string; keyPackage: Uint8Array },
): Promise<string | undefined> {
  let leaf;
  try {
    leaf = ctx.adapter.keyPackageLeaf(p.keyPackage);
  } catch {
    return 'not a KeyPackage';
  }
  const owner = leafOwner({ leafIndex: -1, ...leaf });
  if (owner?.deviceId !== p.deviceId || owner.userId !== p.userId) return 'its credential names another device';
  if (!(await ctx.members.validate(leaf.credential, leaf.signatureKey)))
    return ctx.members.refusals.at(-1)?.reason ?? 'identity check failed';
  return undefined;
}

/** Joins from a Welcome addressed to this device, then removes the Welcome from the server. */
export async function joinByWelcome(ctx: E2eeContext, w: PendingWelcome): Promise<MlsGroup | undefined> {
  const old = (await loadRecord(ctx, w.conversationId)) ?? (await keepLegacy(ctx, w.conversationId, w.seq));
  // SECURITY: a Welcome is used once, and never over a group this device still holds, nor one older
  // than what it has processed: a replayed Welcome would roll the group (and its ratchets) back.
  const stale = old?.welcomes?.includes(w.id) || (old && w.seq <= old.lastSeq && old.e2eeSince !== undefined);
  if (stale || (await loadGroup(ctx, w.conversationId))) {
    if (!old?.welcomes?.includes(w.id))
      ctx.notice({
        kind: 'member_refused',
        conversationId: w.conversationId,
        reason: 'a Welcome for a group this device is already in (or an old one) was ignored',
      });
    await ctx.delivery.deleteWelcome(w.id);
    return undefined;
  }
  const refs = await ctx.store.keys('kp/');
  const secrets = new Map<string, Uint8Array>();
  for (const k of refs) {
    const v = await ctx.store.get(k);
    if (v) secrets.set(k.slice(3), v);
  }
  let joined: { group: MlsGroup; usedRef: string };
  try {
    joined = await ctx.adapter.joinFromWelcome(w.welcome, (ref) => secrets.get(ref));
  } catch (e) {
    ctx.notice({ kind: 'member_refused', conversationId: w.conversationId, reason: (e as Error).message });
    await ctx.delivery.deleteWelcome(w.id);
    return undefined;
  }
  if (!equalBytes(joined.group.groupId, groupIdOf(w.conversationId))) {
    ctx.notice({
      kind: 'member_refused',
      conversationId: w.conversationId,
      reason: 'a Welcome into another group was refused',
    });
    await ctx.delivery.deleteWelcome(w.id);
    return undefined;
  }
  const identity = await readJson<IdentityRecord>(ctx.store, keys.identity);
  const rec = {
    ...newConversationRecord(w.seq),
    counters: old?.counters ?? {},
    kept: old?.kept ?? [],
    e2eeSince: old?.e2eeSince ?? w.seq,
    welcomes: [...(old?.welcomes ?? []), w.id].slice(-50),
  };
  // SECURITY: a KeyPackage's private half is used once, the last-resort one too (a fresh one is
  // uploaded at the next top-up), so no Welcome can be replayed against it.
  const entries: [string, Uint8Array | undefined][] = [
    ...saveEntries(w.conversationId, joined.group, rec),
    [keys.keyPackage(joined.usedRef), undefined],
  ];
  if (identity && identity.lastResortRef === joined.usedRef) {
    const { lastResortRef: _used, ...rest } = identity;
    entries.push([keys.identity, json.encode(rest)]);
  }
  await ctx.store.putMany(entries);
  await ctx.delivery.deleteWelcome(w.id);
  ctx.notice({ kind: 'joined', conversationId: w.conversationId, seq: w.seq, how: 'welcome' });
  return joined.group;
}

/**
 * A conversation from before end-to-end encryption keeps its earlier messages readable: before a
 * device first joins, it keeps (marked) the plaintext messages that precede the first commit.
 */
async function keepLegacy(ctx: E2eeContext, conversationId: string, beforeSeq: number) {
  const rec = newConversationRecord(0);
  for (let after = 0; ;) {
    const page = await ctx.history.after(conversationId, after, 100);
    for (const m of page) {
      if (m.seq >= beforeSeq || m.kind !== 'legacy') return rec.lastSeq > 0 ? rec : undefined;
      rec.lastSeq = m.seq;
      const kept: KeptMessage = { ...m, text: legacyText(m.payload), protection: 'legacy' };
      await ctx.store.putMany([
        ...keepEntries(conversationId, rec, kept),
        ...saveEntries(conversationId, undefined, rec),
      ]);
      ctx.message({ ...kept, conversationId });
    }
    if (page.length < 100) return rec.lastSeq > 0 ? rec : undefined;
    after = page.at(-1)!.seq;
  }
}

/**
 * Joins (or re-joins, replacing this device's old leaf) by external commit from the group's published
 * GroupInfo. Messages between the last one this device processed and the join cannot be decrypted by
 * it; the caller says so.
 */
export async function joinExternally(
  ctx: E2eeContext,
  conversationId: string,
): Promise<{ group: MlsGroup; seq: number }> {
  for (let attempt = 0; ; attempt++) {
    const info = await ctx.delivery.groupInfo(conversationId);
    const { group, commit } = await ctx.adapter.joinExternal(info.groupInfo, ctx.me);
    if (!equalBytes(group.groupId, groupIdOf(conversationId)))
      throw new MlsError('wrong_group', 'the server published the GroupInfo of another group');
    try {
      const res = await ctx.delivery.commit(conversationId, {
        epoch: info.epoch,
        commit,
        groupInfo: await ctx.adapter.groupInfo(group),
        added: [],
        removed: [],
        external: true,
      });
      const old = await loadRecord(ctx, conversationId);
      const rec = {
        ...newConversationRecord(res.seq),
        counters: old?.counters ?? {},
        kept: old?.kept ?? [],
        ownCommits: [res.seq],
        e2eeSince: old?.e2eeSince ?? res.seq,
        welcomes: old?.welcomes ?? [],
      };
      await ctx.store.putMany(saveEntries(conversationId, group, rec));
      return { group, seq: res.seq };
    } catch (e) {
      if (!isEpochConflict(e) || attempt >= 4) throw e;
    }
  }
}

/**
 * The conversation's group for sending: the saved one, or one made now. With no group on the server
 * this device creates it (epoch 0) and adds every entitled device; when another device won that race,
 * or the group exists already, it joins by the Welcome it was sent or else by external commit.
 */
export async function ensureGroup(
  ctx: E2eeContext,
  conversationId: string,
  pendingWelcomes: () => Promise<PendingWelcome[]>,
): Promise<MlsGroup> {
  const saved = await loadGroup(ctx, conversationId);
  if (saved) return saved;
  const status = await ctx.delivery.groupStatus(conversationId);
  if (status.epoch === null) {
    const fresh = await ctx.adapter.createGroup(groupIdOf(conversationId), ctx.me);
    try {
      const group = await reconcile(ctx, conversationId, fresh, { status });
      ctx.notice({ kind: 'joined', conversationId, seq: 0, how: 'created' });
      return group;
    } catch (e) {
      if (!isEpochConflict(e)) throw e;
    }
  }
  for (const w of await pendingWelcomes())
    if (w.conversationId === conversationId) {
      const g = await joinByWelcome(ctx, w);
      if (g) return g;
    }
  const { group, seq } = await joinExternally(ctx, conversationId);
  ctx.notice({ kind: 'joined', conversationId, seq, how: 'external' });
  return group;
}
