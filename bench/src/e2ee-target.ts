import {
  createTsMlsAdapter,
  decodeEnvelope,
  ed25519Signature,
  encodeEnvelope,
  type DeviceIdentity,
  type MlsAdapter,
  type MlsGroup,
  MemoryStateStore,
  openSecureMessaging,
  type PalisadeClient,
} from '@palisade/client';
import type { BenchClient, Target } from './target.js';

/**
 * A target whose clients encrypt every payload as the SDK will: a padded text envelope, then an
 * MLS application message through our adapter (default suite), and decrypt what they receive. The
 * server sees only ciphertext. The group (users 0..n-1 of one conversation) is set up once, outside
 * the measurement; each user's group state persists across its connections, and its sends and
 * receives are serialised (a snapshot is used once), as in the SDK.
 */
export async function encryptingTarget(
  inner: Target,
  users: number,
): Promise<Target & { undecryptable: () => number; ownEchoes: () => number }> {
  const devices: DeviceIdentity[] = [];
  for (let i = 0; i < users; i++) {
    const { signKey, publicKey } = await ed25519Signature().keygen();
    devices.push({
      credential: new TextEncoder().encode(`bench-user-${i}`),
      signatureSecret: signKey,
      signaturePublic: publicKey,
    });
  }
  const keys = new Set(devices.map((d) => Buffer.from(d.signaturePublic).toString('hex')));
  const mls: MlsAdapter = await createTsMlsAdapter({
    validate: (_c, k) => Promise.resolve(keys.has(Buffer.from(k).toString('hex'))),
  });
  const kps = [];
  for (const d of devices.slice(1)) kps.push(await mls.generateKeyPackage(d, 3600));
  const made = await mls.commit(await mls.createGroup(new TextEncoder().encode('bench-e2ee'), devices[0]!), {
    add: kps.map((k) => k.keyPackage),
    remove: [],
  });
  const groups: MlsGroup[] = [made.group];
  for (const k of kps) groups.push((await mls.joinFromWelcome(made.welcome!, () => k.secret)).group);
  // One queue per user: every encrypt and decrypt of that user runs after the previous one.
  const queues = groups.map(() => Promise.resolve());
  const counters = groups.map(() => 0);
  let undecryptable = 0;
  let ownEchoes = 0;
  // The server delivers a sender's messages to its own connections too; a sender's leaf cannot
  // decrypt its own MLS messages, so (as the SDK does by sender device) they are recognised and skipped.
  const tagOf = (m: Uint8Array) => Buffer.from(m.subarray(m.length - 16)).toString('base64');
  const sentTags = groups.map(() => new Set<string>());
  const serial = <T>(user: number, f: () => Promise<T>): Promise<T> => {
    const run = queues[user]!.then(f);
    queues[user] = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  };

  return {
    name: `${inner.name}-e2ee`,
    pid: inner.pid,
    ...(inner.metrics && { metrics: inner.metrics }),
    conversation: (n) => inner.conversation(n),
    stop: () => inner.stop(),
    undecryptable: () => undecryptable,
    ownEchoes: () => ownEchoes,
    async connect(user) {
      const raw = await inner.connect(user);
      const client: BenchClient = {
        onMessage: undefined,
        async send(conversationId, payload) {
          const message = await serial(user, async () => {
            const body = new TextDecoder().decode(payload);
            const env = encodeEnvelope({ v: 1, type: 'text', body, sentAt: Date.now(), counter: ++counters[user]! });
            const r = await mls.encrypt(groups[user]!, env);
            groups[user] = r.group;
            sentTags[user]!.add(tagOf(r.message));
            return r.message;
          });
          await raw.send(conversationId, message);
        },
        close: () => raw.close(),
      };
      raw.onMessage = (conversationId, payload) => {
        if (sentTags[user]!.delete(tagOf(payload))) {
          ownEchoes++;
          return;
        }
        serial(user, async () => {
          const r = await mls.process(groups[user]!, payload);
          groups[user] = r.group;
          if (r.kind !== 'application') return;
          const env = decodeEnvelope(r.plaintext);
          if (env.ok) client.onMessage?.(conversationId, new TextEncoder().encode(env.envelope.body));
        }).catch(() => {
          // Anything else this user cannot decrypt is counted (the report shows it) and dropped.
          undecryptable++;
        });
      };
      return client;
    },
  };
}

/**
 * A target whose clients are the REAL end-to-end SDK: `openSecureMessaging` on a logged-in client
 * (credential, KeyPackages, groups made on first send, every state change saved in its store), with
 * `sendText` and the decrypted-message handler. One in-memory store per user, kept across its
 * connections, as a device keeps its state.
 */
export function sdkTarget(
  inner: Target & { sdkClient: (user: number) => PalisadeClient },
): Target & { notices: () => number } {
  const stores = new Map<number, MemoryStateStore>();
  let notices = 0;
  return {
    name: `${inner.name}-e2ee-sdk`,
    pid: inner.pid,
    ...(inner.metrics && { metrics: inner.metrics }),
    conversation: (n) => inner.conversation(n),
    stop: () => inner.stop(),
    notices: () => notices,
    async connect(user) {
      const c = inner.sdkClient(user);
      const store = stores.get(user) ?? new MemoryStateStore();
      stores.set(user, store);
      const { secure } = await openSecureMessaging(c, { store });
      const client: BenchClient = {
        onMessage: undefined,
        send: async (conversationId, payload) =>
          void (await secure.sendText(conversationId, new TextDecoder().decode(payload))),
        close: () => c.close(),
      };
      secure.on.message = (m) => client.onMessage?.(m.conversationId, new TextEncoder().encode(m.text));
      secure.on.notice = () => void notices++;
      await secure.start();
      await c.connect();
      return client;
    },
  };
}
