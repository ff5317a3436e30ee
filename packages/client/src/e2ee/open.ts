import { fromBase64, fromBase64Url, toBase64Url } from '../bytes.js';
import { DirectoryApi } from '../api-directory.js';
import { MlsApi } from '../api-mls.js';
import { newClientMsgId, type PalisadeClient } from '../client.js';
import type { MlsAdapter, MlsSuiteName } from '../mls/adapter.js';
import { createTsMlsAdapter } from '../mls/ts-mls-adapter.js';
import { json, keys, readJson, type IdentityRecord } from './local-records.js';
import { MemberCheck } from './member-check.js';
import type { DirectoryPort, LocalStore, StoredMessage } from './ports.js';
import { SecureMessaging } from './secure-messaging.js';
import { KeyTransparency, TransparencyError, type TransparencyState } from './transparency.js';
import { decodeDeviceCredential } from '@palisade/protocol';

/** What {@link openSecureMessaging} needs beside the client. */
export interface OpenSecureOptions {
  /** This device's encrypted local store (FileStateStore in Node, MemoryStateStore in tests). */
  store: LocalStore;
  /** Cipher suite for the groups this device creates. */
  suite?: MlsSuiteName;
  /** Past epochs whose keys are kept for late messages (default 4). */
  keyRetentionEpochs?: number;
  /**
   * `websocket` (default): sends over the live connection and follows its frames. `http`: sends over
   * the HTTP send route and wires no live frames; the caller reads with `secure.sync` (a bot, see
   * `openBotMessaging`).
   */
  transport?: 'websocket' | 'http';
}

/** The end-to-end layer of a signed-in client, and the parts a caller may want (verification, tests). */
export interface SecureSession {
  secure: SecureMessaging;
  members: MemberCheck;
  /** The MLS adapter this device uses (its validator is `members.validate`). */
  adapter: MlsAdapter;
  transparency: KeyTransparency;
  /**
   * Loud warnings from the transparency checks at start (a forked log: the server showed this
   * device and another of the same user different key histories). Empty when all is well.
   */
  warnings: string[];
  /** The local store (verification marks live there too). */
  store: LocalStore;
  userId: string;
  deviceId: string;
}

/**
 * Wires the end-to-end layer for a logged-in client: this device's organisation-signed credential
 * (issued once, checked against the transparency log like anyone else's), its KeyPackages, the
 * Welcomes waiting for it, and the live frames. Call before `client.connect()`.
 */
export async function openSecureMessaging(client: PalisadeClient, o: OpenSecureOptions): Promise<SecureSession> {
  const me = await client.api.me();
  const dirApi = new DirectoryApi(client.api);
  const ktState = (await readJson<TransparencyState>(o.store, keys.transparency)) ?? { orgKeys: {} };
  const transparency = new KeyTransparency(dirApi, ktState, (st) => {
    o.store.putMany([[keys.transparency, json.encode(st)]]).catch(() => undefined); // seen again next start
  });
  const directory: DirectoryPort = {
    issueCredential: async () => {
      const r = await dirApi.issueCredential();
      return { credential: fromBase64Url(r.credential), leafIndex: r.leafIndex };
    },
    directory: async (userIds) => {
      const r = await dirApi.directory(userIds);
      return {
        users: r.users.map((u) => ({
          ...u,
          devices: u.devices.map((d) => ({ ...d, credential: fromBase64Url(d.credential) })),
        })),
      };
    },
  };
  const members = new MemberCheck(directory, transparency);
  const adapter = await createTsMlsAdapter({
    suite: o.suite,
    validate: members.validate,
    ...(o.keyRetentionEpochs ? { keyRetentionEpochs: o.keyRetentionEpochs } : {}),
  });
  let id = await readJson<IdentityRecord>(o.store, keys.identity);
  if (!id || id.deviceId !== me.deviceId || id.userId !== me.userId) {
    // A new device key (or a store from another account) starts afresh: nothing of the old one applies.
    // SECURITY: what the person verified, and the transparency heads seen, are kept: wiping them would
    // let a server that answers with another device id reset "verified" to "not verified".
    const keep = new Set<string>([keys.verified, keys.transparency]);
    await o.store.putMany((await o.store.keys('')).filter((k) => !keep.has(k)).map((k) => [k, undefined]));
    const issued = await directory.issueCredential();
    id = {
      userId: me.userId,
      deviceId: me.deviceId,
      credential: toBase64Url(issued.credential),
      counter: 0,
    };
    await o.store.putMany([[keys.identity, json.encode(id)]]);
  }
  const credential = fromBase64Url(id.credential);
  const signatureSecret = fromBase64Url(client.deviceKey.export());
  const signaturePublic = fromBase64Url(client.deviceKey.publicKey);
  // SECURITY: this device's own credential passes the same checks as everyone else's (a server that
  // issued it outside the log, or under an unknown key, is caught here, before it is used).
  if (!(await members.validate(credential, signaturePublic)))
    throw new Error(`this device's own credential does not verify: ${members.refusals.at(-1)?.reason ?? '?'}`);
  const delivery = new MlsApi(client.api);
  const secure = new SecureMessaging({
    adapter,
    delivery,
    history: {
      after: async (conversationId, afterSeq, limit) =>
        (await client.api.history(conversationId, afterSeq, limit)).map((m): StoredMessage => ({
          conversationId,
          seq: m.seq,
          senderId: m.senderId,
          senderDeviceId: m.senderDeviceId,
          kind: m.kind,
          payload: fromBase64(m.payload),
          sentAt: m.sentAt,
        })),
    },
    send:
      o.transport === 'http'
        ? async (conversationId, payload) =>
            (await client.api.sendMessage(conversationId, payload, newClientMsgId())).seq
        : (conversationId, payload) => client.send(conversationId, payload),
    store: o.store,
    members,
    me: { userId: me.userId, deviceId: me.deviceId, credential, signatureSecret, signaturePublic },
    ...(o.suite ? { suite: o.suite } : {}),
  });
  if (o.transport !== 'http') wireRealtime(client, secure);
  const warnings = await gossipHeads(client, dirApi, transparency, members, me.userId);
  return {
    warnings,
    secure,
    members,
    adapter,
    transparency,
    store: o.store,
    userId: me.userId,
    deviceId: me.deviceId,
  };
}

/**
 * Reports the latest verified tree head to this user's other devices (signed with the device key)
 * and checks theirs against it. SECURITY: a server that shows two devices of one user different
 * logs (a fork, to hide a device it added) is caught here; it can only withhold reports, not forge them.
 */
async function gossipHeads(
  client: PalisadeClient,
  dirApi: DirectoryApi,
  transparency: KeyTransparency,
  members: MemberCheck,
  userId: string,
): Promise<string[]> {
  try {
    const head = await transparency.refreshHead();
    await dirApi.gossip(head, client.deviceKey.signGossip(head));
    const siblings = await dirApi.siblingHeads();
    if (siblings.length === 0) return [];
    const own = await members.user(userId, true);
    const keyOf = new Map<string, string>();
    for (const d of own?.devices ?? []) {
      const c = decodeDeviceCredential(d.credential);
      if (c.ok) keyOf.set(d.deviceId, c.value.signatureKey);
    }
    await transparency.checkGossip(
      siblings
        .filter((g) => keyOf.has(g.deviceId))
        .map((g) => ({
          deviceId: g.deviceId,
          head: g.head,
          signature: g.signature,
          publicKey: keyOf.get(g.deviceId)!,
        })),
    );
    return [];
  } catch (e) {
    if (e instanceof TransparencyError)
      return [
        `the key transparency log does not check out (${e.code}): ${e.message}. Do not trust new devices until an administrator has looked into it.`,
      ];
    throw e;
  }
}

/**
 * Routes the live frames through the end-to-end layer: messages and commits in order, Welcomes,
 * the low-KeyPackage notice, and membership changes (the next send re-checks the group).
 * A failure becomes a notice on `secure.on.notice`, never an unhandled rejection.
 */
function wireRealtime(client: PalisadeClient, secure: SecureMessaging): void {
  const fail = (conversationId: string) => (e: Error) =>
    secure.on.notice?.({ kind: 'rejoin_failed', conversationId, reason: e.message });
  client.on.message = (m) => void secure.onMessage(m).catch(fail(m.conversationId));
  const handlers = client.on;
  const previousConversation = handlers.conversation?.bind(handlers);
  handlers.conversation = (c) => {
    secure.membershipChanged(c.conversationId);
    previousConversation?.(c);
  };
  client.on.onFrame = (f) => {
    if (f.type === 'welcome')
      void secure
        .onWelcome({ id: f.id, conversationId: f.conversationId, seq: f.seq, welcome: fromBase64Url(f.welcome) })
        .catch(fail(f.conversationId));
    else if (f.type === 'key_packages_low') void secure.topUpKeyPackages().catch(() => undefined);
  };
}
