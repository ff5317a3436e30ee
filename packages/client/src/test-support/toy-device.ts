import { fromBase64Url } from '../bytes.js';
import { DeviceKey } from '../device-key.js';
import type { MlsAdapter } from '../mls/adapter.js';
import { createTsMlsAdapter } from '../mls/ts-mls-adapter.js';
import type { E2eeMessage, E2eeNotice } from '../e2ee/context.js';
import { MemberCheck } from '../e2ee/member-check.js';
import { SecureMessaging } from '../e2ee/secure-messaging.js';
import { MemoryStateStore } from '../e2ee/state-store.js';
import { KeyTransparency } from '../e2ee/transparency.js';
import type { ToyServer } from './toy-server.js';

/** One device of an SDK test against the toy server: the real end-to-end layer and what it received. */
export interface Dev {
  secure: SecureMessaging;
  members: MemberCheck;
  store: MemoryStateStore;
  got: E2eeMessage[];
  notices: E2eeNotice[];
  deviceId: string;
  adapter: MlsAdapter;
  key: DeviceKey;
}

/** A device whose SDK talks to the toy server the test plays; its checks are the real ones. */
export async function device(
  server: ToyServer,
  userId: string,
  deviceId: string,
  key = DeviceKey.generate(),
  store = new MemoryStateStore(),
): Promise<Dev> {
  const pub = fromBase64Url(key.publicKey);
  const d = server.devices.get(deviceId) ?? server.addDevice(userId, deviceId, pub);
  const ports = server.portsFor(deviceId);
  const members = new MemberCheck(ports.directory, new KeyTransparency(server.org));
  const adapter = await createTsMlsAdapter({ validate: members.validate });
  const secure = new SecureMessaging({
    adapter,
    delivery: ports.delivery,
    history: ports.history,
    send: server.sendFor(deviceId),
    store,
    members,
    me: {
      userId,
      deviceId,
      credential: d.credential,
      signatureSecret: fromBase64Url(key.export()),
      signaturePublic: pub,
    },
  });
  const dev: Dev = { secure, members, store, got: [], notices: [], deviceId, adapter, key };
  secure.on.message = (m) => dev.got.push(m);
  secure.on.notice = (n) => dev.notices.push(n);
  d.listener = (m) => void secure.onMessage(m);
  d.welcome = (w) => void secure.onWelcome(w);
  await secure.start();
  return dev;
}

/** Resolves once every queued step of the device has run (the toy server delivers in microtasks). */
export async function settle(...devs: Dev[]): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setImmediate(r));
    await Promise.all(devs.map((d) => d.secure.sync('c1')));
  }
}

/** What a device received from others (its own sends are shown to it too, but not counted here). */
export const texts = (d: Dev) => d.got.filter((m) => m.senderDeviceId !== d.deviceId).map((m) => m.text);
