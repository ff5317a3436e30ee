/* eslint-disable @typescript-eslint/require-await -- the ports are async by contract; this in-memory stand-in answers at once */
import { PalisadeError } from '../errors.js';
import type {
  DeliveryPort,
  DirectoryPort,
  GroupStatus,
  HistoryPort,
  PendingWelcome,
  StoredMessage,
} from '../e2ee/ports.js';
import type { ToyOrg } from './toy-org.js';

interface ToyDevice {
  userId: string;
  deviceId: string;
  credential: Uint8Array;
  leafIndex: number;
  packages: { keyPackage: Uint8Array; lastResort: boolean }[];
  listener?: (m: StoredMessage) => void;
  welcome?: (w: PendingWelcome) => void;
}

interface ToyConversation {
  members: Set<string>;
  messages: StoredMessage[];
  epoch: number | null;
  groupInfo?: Uint8Array;
  inGroup: Set<string>;
}

/**
 * A deliberately small delivery service for SDK tests in which the TEST plays the server: the same
 * contract as the real one (one commit per epoch, Welcomes, one-time KeyPackages, seq order), plus
 * hooks (`deliver`, `messages`) through which a test can replay, reorder or forge.
 */
export class ToyServer {
  readonly devices = new Map<string, ToyDevice>();
  readonly conversations = new Map<string, ToyConversation>();
  private welcomeSeq = 0;

  constructor(readonly org: ToyOrg) {}

  /** Registers a device with an org-signed, logged credential. */
  addDevice(userId: string, deviceId: string, publicKey: Uint8Array): ToyDevice {
    const credential = this.org.credential(userId, deviceId, publicKey);
    const d: ToyDevice = { userId, deviceId, credential, leafIndex: this.org.log(credential), packages: [] };
    this.devices.set(deviceId, d);
    return d;
  }

  conversation(id: string, members: string[]): void {
    this.conversations.set(id, { members: new Set(members), messages: [], epoch: null, inGroup: new Set() });
  }

  /** Hands a stored message to every device of every member (a test may call it to replay). */
  deliver(conversationId: string, m: StoredMessage): void {
    const c = this.conv(conversationId);
    for (const d of this.devices.values()) if (c.members.has(d.userId)) d.listener?.(m);
  }

  private conv(id: string): ToyConversation {
    const c = this.conversations.get(id);
    if (!c) throw new PalisadeError({ code: 'not_found', message: 'no such conversation' }, 404);
    return c;
  }

  private append(conversationId: string, from: ToyDevice, kind: StoredMessage['kind'], payload: Uint8Array): number {
    const c = this.conv(conversationId);
    const m: StoredMessage = {
      conversationId,
      seq: c.messages.length + 1,
      senderId: from.userId,
      senderDeviceId: from.deviceId,
      kind,
      payload,
      sentAt: new Date().toISOString(),
    };
    c.messages.push(m);
    queueMicrotask(() => this.deliver(conversationId, m));
    return m.seq;
  }

  private status(c: ToyConversation): GroupStatus {
    const entitled = [...this.devices.values()]
      .filter((d) => c.members.has(d.userId))
      .map((d) => ({ userId: d.userId, deviceId: d.deviceId }));
    const ids = new Set(entitled.map((e) => e.deviceId));
    return {
      groupId: null,
      epoch: c.epoch,
      suite: null,
      entitled,
      inGroup: [...c.inGroup],
      missing: [...ids].filter((d) => !c.inGroup.has(d)),
      stale: [...c.inGroup].filter((d) => !ids.has(d)),
    };
  }

  /** The ports one device uses (what its SDK would reach over HTTP and WebSocket). */
  portsFor(deviceId: string): { delivery: DeliveryPort; history: HistoryPort; directory: DirectoryPort } {
    const me = this.devices.get(deviceId) as ToyDevice;
    const delivery: DeliveryPort = {
      uploadKeyPackages: async (pkgs) => {
        for (const p of pkgs) me.packages.push({ keyPackage: p.keyPackage, lastResort: p.lastResort === true });
        return this.stock(me);
      },
      keyPackageStock: async () => this.stock(me),
      claimKeyPackages: async (ids) => {
        const packages = [];
        const missing = [];
        for (const id of ids) {
          const d = this.devices.get(id);
          const i = d ? d.packages.findIndex((p) => !p.lastResort) : -1;
          const p = d && (i >= 0 ? d.packages.splice(i, 1)[0] : d.packages.find((x) => x.lastResort));
          if (d && p) packages.push({ userId: d.userId, deviceId: d.deviceId, keyPackage: p.keyPackage });
          else missing.push(id);
        }
        return { packages, missing };
      },
      groupStatus: async (id) => this.status(this.conv(id)),
      commit: async (id, body) => {
        const c = this.conv(id);
        if ((c.epoch ?? 0) !== body.epoch)
          throw new PalisadeError(
            {
              code: 'epoch_conflict',
              message: 'another commit won this epoch',
              details: { currentEpoch: c.epoch ?? 0 },
            },
            409,
          );
        const seq = this.append(id, me, 'commit', body.commit);
        c.epoch = body.epoch + 1;
        c.groupInfo = body.groupInfo;
        for (const d of body.removed) c.inGroup.delete(d);
        for (const d of body.added) c.inGroup.add(d);
        if (c.epoch === 1) c.inGroup.add(me.deviceId);
        for (const d of body.added)
          if (body.welcome && d !== me.deviceId) {
            const w = { id: `w${++this.welcomeSeq}`, conversationId: id, seq, welcome: body.welcome };
            this.welcomes.push({ ...w, deviceId: d });
            queueMicrotask(() => this.devices.get(d)?.welcome?.(w));
          }
        return { seq, epoch: c.epoch };
      },
      groupInfo: async (id) => {
        const c = this.conv(id);
        if (!c.groupInfo || c.epoch === null) throw new PalisadeError({ code: 'not_found', message: 'no group' }, 404);
        return { groupInfo: c.groupInfo, epoch: c.epoch };
      },
      welcomes: async () => this.welcomes.filter((w) => w.deviceId === deviceId),
      deleteWelcome: async (wid) => {
        this.welcomes = this.welcomes.filter((w) => w.id !== wid);
      },
    };
    const history: HistoryPort = {
      after: async (id, after, limit) =>
        this.conv(id)
          .messages.filter((m) => m.seq > after)
          .slice(0, limit),
    };
    const directory: DirectoryPort = {
      issueCredential: async () => ({ credential: me.credential, leafIndex: me.leafIndex }),
      directory: async (userIds) => ({
        users: userIds.map((userId) => ({
          userId,
          username: userId,
          devices: [...this.devices.values()]
            .filter((d) => d.userId === userId)
            .map((d) => ({ deviceId: d.deviceId, credential: d.credential, leafIndex: d.leafIndex })),
        })),
      }),
    };
    return { delivery, history, directory };
  }

  /** The live send of a device (an MLS application message). */
  sendFor(deviceId: string): (conversationId: string, payload: Uint8Array) => Promise<number> {
    return async (conversationId, payload) =>
      this.append(conversationId, this.devices.get(deviceId) as ToyDevice, 'mls', payload);
  }

  private welcomes: (PendingWelcome & { deviceId: string })[] = [];

  private stock(d: ToyDevice) {
    return { stock: d.packages.filter((p) => !p.lastResort).length, lastResort: d.packages.some((p) => p.lastResort) };
  }
}
