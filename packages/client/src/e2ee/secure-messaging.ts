import { toBase64Url } from '../bytes.js';
import { PalisadeError } from '../errors.js';
import type { MlsGroup, MlsSuiteName } from '../mls/adapter.js';
import { encodeEnvelope, MAX_TEXT_BYTES } from './envelope.js';
import {
  loadGroup,
  loadRecord,
  payloadTag,
  saveEntries,
  type E2eeContext,
  type E2eeMessage,
  type E2eeNotice,
} from './context.js';
import { ensureGroup, isEpochConflict, joinByWelcome, joinExternally, reconcile } from './group-ops.js';
import { processInbound } from './inbound.js';
import {
  json,
  keepEntries,
  keys,
  newConversationRecord,
  readJson,
  type IdentityRecord,
  type KeptMessage,
} from './local-records.js';
import type { PendingWelcome, StoredMessage } from './ports.js';

/** How to build the end-to-end layer of one device: the parts it shares with its helpers. */
export type SecureMessagingOptions = Pick<
  E2eeContext,
  'adapter' | 'delivery' | 'history' | 'send' | 'store' | 'members' | 'me'
> & {
  /** The cipher suite for groups this device creates (the organisation's choice; default the adapter's). */
  suite?: MlsSuiteName;
};

/** KeyPackages a device keeps in the directory, and when it tops them up. */
export const KEY_PACKAGE_TARGET = 30;
export const KEY_PACKAGE_LOW = 10;
const KEY_PACKAGE_LIFETIME_S = 60 * 60 * 24 * 60;
const SEND_ATTEMPTS = 5;
const PAGE = 100;
/**
 * How often a send re-checks the group against the server's list of entitled devices (a new device
 * of a member is added by the next send after it appears). A removal does not wait for this: the
 * server refuses sends (`roster_stale`) until the removed leaves are gone.
 */
const RECONCILE_EVERY_MS = 60_000;

/**
 * End-to-end encrypted messaging for one device: every conversation is an MLS group with one leaf per
 * device. Sending makes sure the group exists and matches who may read it, then encrypts; receiving
 * processes commits and messages strictly in seq order and never fails silently (every problem is a
 * notice). SECURITY: nothing leaves this class unencrypted except what the server must route.
 */
export class SecureMessaging {
  private readonly ctx: E2eeContext;
  /** Where decrypted messages and notices go; set before `start()`. */
  readonly on: { message?(m: E2eeMessage): void; notice?(n: E2eeNotice): void } = {};
  private readonly queues = new Map<string, Promise<unknown>>();
  private counter = 0;
  /** When each conversation's group was last matched against who may read it. */
  private readonly checkedAt = new Map<string, number>();
  /** Conversations this session has moved to a fresh epoch of its own (see `sendText`). */
  private readonly refreshed = new Set<string>();
  private readonly said = new Set<string>();

  constructor(private readonly o: SecureMessagingOptions) {
    this.ctx = {
      ...o,
      suite: o.suite ?? o.adapter.suite,
      notice: (n) => {
        // The same "not set up yet" list is said once per session, not at every send.
        if (n.kind === 'no_key_packages') {
          const key = `${n.conversationId}:${n.deviceIds.join(',')}`;
          if (this.said.has(key)) return;
          this.said.add(key);
        }
        this.on.notice?.(n);
      },
      message: (m) => this.on.message?.(m),
      outgoing: new Set<string>(),
    };
  }

  /** Loads this device's counter, tops up its KeyPackages and joins the groups it was welcomed to. */
  async start(): Promise<void> {
    let id = await readJson<IdentityRecord>(this.o.store, keys.identity);
    if (!id) {
      const { userId, deviceId, credential } = this.o.me;
      id = { userId, deviceId, credential: toBase64Url(credential), counter: 0 };
      await this.o.store.putMany([[keys.identity, json.encode(id)]]);
    }
    this.counter = id.counter;
    await this.topUpKeyPackages();
    await this.processWelcomes();
  }

  /** Uploads new KeyPackages when the directory holds fewer than {@link KEY_PACKAGE_LOW}. */
  async topUpKeyPackages(force = false): Promise<number> {
    const stock = await this.o.delivery.keyPackageStock();
    const id = (await readJson<IdentityRecord>(this.o.store, keys.identity)) as IdentityRecord;
    // The server's word that a last-resort package is there is not enough: ours may have been used.
    const haveLastResort = stock.lastResort && id.lastResortRef !== undefined;
    if (!force && stock.stock >= KEY_PACKAGE_LOW && haveLastResort) return stock.stock;
    const made = [];
    for (let i = stock.stock; i < KEY_PACKAGE_TARGET; i++)
      made.push(await this.o.adapter.generateKeyPackage(this.o.me, KEY_PACKAGE_LIFETIME_S));
    const lastResort = haveLastResort
      ? undefined
      : await this.o.adapter.generateKeyPackage(this.o.me, KEY_PACKAGE_LIFETIME_S);
    const entries: [string, Uint8Array | undefined][] = made.map((k) => [keys.keyPackage(k.ref), k.secret]);
    if (lastResort) {
      entries.push([keys.keyPackage(lastResort.ref), lastResort.secret]);
      if (id.lastResortRef) entries.push([keys.keyPackage(id.lastResortRef), undefined]);
      entries.push([keys.identity, json.encode({ ...id, lastResortRef: lastResort.ref })]);
    }
    // SECURITY: the private halves are saved before the public halves are published.
    await this.o.store.putMany(entries);
    const pkgs = made.map((k) => ({ keyPackage: k.keyPackage }));
    if (lastResort) pkgs.push({ keyPackage: lastResort.keyPackage, lastResort: true } as never);
    return pkgs.length ? (await this.o.delivery.uploadKeyPackages(pkgs)).stock : stock.stock;
  }

  /** Joins every group this device has a Welcome for. */
  async processWelcomes(): Promise<void> {
    for (const w of await this.o.delivery.welcomes()) await this.onWelcome(w);
  }

  /** A Welcome pushed by the server (or listed): join, then process what followed it. */
  onWelcome(w: PendingWelcome): Promise<void> {
    return this.serial(w.conversationId, async () => {
      if (await joinByWelcome(this.ctx, w)) await this.syncLocked(w.conversationId);
    });
  }

  /** A live message: processed in order (a gap is filled from history first). */
  onMessage(m: StoredMessage): Promise<void> {
    return this.serial(m.conversationId, async () => {
      const rec = await loadRecord(this.ctx, m.conversationId);
      if (m.seq > (rec?.lastSeq ?? 0) + 1) return this.syncLocked(m.conversationId);
      await this.handle(m);
    });
  }

  /** Makes the next send re-check who may read the conversation (a member or device changed). */
  membershipChanged(conversationId: string): void {
    this.checkedAt.delete(conversationId);
  }

  /** Processes everything the server holds after what this device has seen. */
  sync(conversationId: string): Promise<void> {
    return this.serial(conversationId, () => this.syncLocked(conversationId));
  }

  /** Encrypts and sends a text; resolves with its seq once the server has committed it. */
  async sendText(conversationId: string, body: string): Promise<number> {
    const size = new TextEncoder().encode(body).byteLength;
    if (size > MAX_TEXT_BYTES)
      throw new PalisadeError({
        code: 'payload_too_large',
        message: `the message is ${size} bytes; at most ${MAX_TEXT_BYTES} bytes fit`,
      });
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.sendOnce(conversationId, body, attempt);
      } catch (e) {
        const retry =
          isEpochConflict(e) ||
          (e instanceof PalisadeError && (e.code === 'roster_stale' || e.code === 'e2ee_required'));
        if (!retry || attempt >= SEND_ATTEMPTS) throw e;
        this.checkedAt.delete(conversationId);
      }
    }
  }

  /**
   * One attempt. The group check, the encryption and the saving of the new state run in the
   * conversation's queue; the queue is released while the server's ack is awaited, so sends pipeline
   * (their frames go out in order). The ack then keeps the message, in the queue again.
   */
  private async sendOnce(conversationId: string, body: string, attempt: number): Promise<number> {
    const sentAt = Date.now();
    const { ack, message } = await this.serial(conversationId, async () => {
      const group = await this.groupForSend(conversationId, attempt);
      const counter = this.counter++;
      const id = (await readJson<IdentityRecord>(this.o.store, keys.identity)) as IdentityRecord;
      const enc = await this.o.adapter.encrypt(group, encodeEnvelope({ v: 1, type: 'text', body, sentAt, counter }));
      const rec = (await loadRecord(this.ctx, conversationId)) ?? newConversationRecord(0);
      // SECURITY: the ratchet moves on before the ciphertext leaves (no key or nonce is ever reused).
      await this.o.store.putMany([
        ...saveEntries(conversationId, enc.group, rec),
        [keys.identity, json.encode({ ...id, counter: this.counter })],
      ]);
      this.ctx.outgoing.add(payloadTag(enc.message));
      return { ack: this.o.send(conversationId, enc.message), message: enc.message };
    });
    let seq: number;
    try {
      seq = await ack;
    } catch (e) {
      this.ctx.outgoing.delete(payloadTag(message));
      throw e;
    }
    return this.serial(conversationId, async () => {
      this.ctx.outgoing.delete(payloadTag(message));
      const kept: KeptMessage = {
        seq,
        senderId: this.o.me.userId,
        senderDeviceId: this.o.me.deviceId,
        sentAt: new Date(sentAt).toISOString(),
        text: body,
        protection: 'e2ee',
      };
      const rec = (await loadRecord(this.ctx, conversationId)) ?? newConversationRecord(0);
      const keptEntries = keepEntries(conversationId, rec, kept);
      await this.o.store.putMany([[keys.conversation(conversationId), json.encode(rec)], ...keptEntries]);
      this.on.message?.({ ...kept, conversationId });
      return seq;
    });
  }

  /** The group to encrypt to: the saved one, re-checked against who may read when it is due. */
  private async groupForSend(conversationId: string, attempt: number): Promise<MlsGroup> {
    const saved = attempt === 1 ? await loadGroup(this.ctx, conversationId) : undefined;
    const checked = this.checkedAt.get(conversationId) ?? -Infinity;
    if (saved && performance.now() - checked <= RECONCILE_EVERY_MS) return saved;
    await this.syncLocked(conversationId);
    const before = await loadGroup(this.ctx, conversationId);
    let group = await ensureGroup(this.ctx, conversationId, () => this.o.delivery.welcomes());
    // SECURITY: this session's first send moves the group to a fresh epoch (a self-update), unless
    // joining just did: keys of an epoch an older copy of this state used are never reused.
    if (before)
      group = await reconcile(this.ctx, conversationId, group, { refresh: !this.refreshed.has(conversationId) });
    this.refreshed.add(conversationId);
    this.checkedAt.set(conversationId, performance.now());
    return group;
  }

  /** The messages this device kept for a conversation (decrypted ones and earlier plaintext), oldest first. */
  async kept(conversationId: string, last = 20): Promise<KeptMessage[]> {
    const names = (await this.o.store.keys(`${keys.history(conversationId)}/`)).sort().slice(-last);
    const out: KeptMessage[] = [];
    for (const k of names) {
      const m = await readJson<KeptMessage>(this.o.store, k);
      if (m) out.push(m);
    }
    return out;
  }

  /** Whether this device is in the conversation's group, and at which epoch. */
  async groupEpoch(conversationId: string): Promise<number | undefined> {
    return (await loadGroup(this.ctx, conversationId))?.epoch;
  }

  private async syncLocked(conversationId: string): Promise<void> {
    for (;;) {
      const rec = await loadRecord(this.ctx, conversationId);
      const page = await this.o.history.after(conversationId, rec?.lastSeq ?? 0, PAGE);
      for (const m of page) await this.handle(m);
      if (page.length < PAGE) return;
    }
  }

  private async handle(m: StoredMessage): Promise<void> {
    let outcome = await processInbound(this.ctx, m);
    // SECURITY: a commit that added someone is checked against who may read at this device's next
    // send (an insider could add a device the server never declared).
    if (outcome === 'membership') this.membershipChanged(m.conversationId);
    if (outcome === 'needs_welcome') {
      for (const w of await this.o.delivery.welcomes())
        if (w.conversationId === m.conversationId) await joinByWelcome(this.ctx, w);
      outcome = await processInbound(this.ctx, m);
      if (outcome === 'needs_welcome') outcome = 'needs_rejoin';
    }
    if (outcome !== 'needs_rejoin') return;
    const before = await loadRecord(this.ctx, m.conversationId);
    try {
      const { seq } = await joinExternally(this.ctx, m.conversationId);
      const missed = (await this.o.history.after(m.conversationId, m.seq - 1, 100)).filter(
        (x) => x.seq < seq && x.kind === 'mls',
      ).length;
      // A device's first join (it was not set up when the group was made) is not a failure.
      if (before?.e2eeSince === undefined)
        this.ctx.notice({ kind: 'joined_late', conversationId: m.conversationId, missed });
      else this.ctx.notice({ kind: 'rejoined', conversationId: m.conversationId, fromSeq: m.seq, toSeq: seq });
    } catch (e) {
      this.ctx.notice({ kind: 'rejoin_failed', conversationId: m.conversationId, reason: (e as Error).message });
      // Nothing hangs: the message is passed over (the notice said so) and the next ones are tried.
      const rec = (await loadRecord(this.ctx, m.conversationId)) ?? newConversationRecord(0);
      await this.o.store.putMany(
        saveEntries(m.conversationId, undefined, { ...rec, lastSeq: Math.max(rec.lastSeq, m.seq) }),
      );
    }
  }

  /** Runs one step at a time per conversation (MLS state moves strictly forward). */
  private serial<T>(conversationId: string, step: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(conversationId) ?? Promise.resolve();
    const next = prev.then(step, step);
    this.queues.set(
      conversationId,
      next.catch(() => undefined),
    );
    return next;
  }
}
