import {
  createTsMlsAdapter,
  ed25519Signature,
  encodeEnvelope,
  type DeviceIdentity,
  type Ed25519Variant,
  type GeneratedKeyPackage,
  type MlsAdapter,
  type MlsGroup,
  type MlsSuiteName,
} from '@palisade/client';
import { now, summarise, type Summary } from './stats.js';

/**
 * End-to-end encryption costs in this Node process, through Palisade's MLS adapter (ts-mls): a
 * 50-member group made by one commit adding 49 KeyPackages, one add, one remove, and 1,000
 * application messages encrypted by one member and decrypted by another. No server: these are the
 * client-side costs the SDK adds to every operation. The credential validator is a set lookup (the
 * real one also checks the organisation signature and the transparency log: not included).
 */
export interface E2eeSizes {
  members: number;
  messages: number;
  /** How many times the group operations (create, add, remove) are repeated. */
  rounds: number;
}

const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function identity(i: number): Promise<DeviceIdentity> {
  const { signKey, publicKey } = await ed25519Signature().keygen();
  return {
    credential: new TextEncoder().encode(`bench-device-${i}`),
    signatureSecret: signKey,
    signaturePublic: publicKey,
  };
}

async function timed<T>(samples: number[], f: () => Promise<T>): Promise<T> {
  const t = now();
  const r = await f();
  samples.push(now() - t);
  return r;
}

async function lifecycle(mls: MlsAdapter, devices: DeviceIdentity[], sizes: E2eeSizes, progress: (s: string) => void) {
  const s = {
    keyPackage: [] as number[],
    create49: [] as number[],
    joinWelcome: [] as number[],
    add1: [] as number[],
    processAdd: [] as number[],
    remove1: [] as number[],
    processRemove: [] as number[],
  };
  let last: { owner: MlsGroup; member: MlsGroup } | undefined;
  for (let round = 0; round < sizes.rounds; round++) {
    progress(`e2ee ${mls.suite}: round ${round + 1}/${sizes.rounds}, ${sizes.members}-member group`);
    const kps: GeneratedKeyPackage[] = [];
    for (const d of devices.slice(1, sizes.members))
      kps.push(await timed(s.keyPackage, () => mls.generateKeyPackage(d, 3600)));
    const owner0 = await mls.createGroup(new TextEncoder().encode(`bench-${round}`), devices[0]!);
    const made = await timed(s.create49, () => mls.commit(owner0, { add: kps.map((k) => k.keyPackage), remove: [] }));
    const first = kps[0]!;
    const joined = await timed(s.joinWelcome, () =>
      mls.joinFromWelcome(made.welcome!, (r) => (r === first.ref ? first.secret : undefined)),
    );
    const extra = await mls.generateKeyPackage(devices[sizes.members]!, 3600);
    const added = await timed(s.add1, () => mls.commit(made.group, { add: [extra.keyPackage], remove: [] }));
    const member1 = (await timed(s.processAdd, () => mls.process(joined.group, added.commit))).group;
    const victim = added.group.members().find((m) => m.leafIndex !== 0 && m.leafIndex !== member1.ownLeafIndex)!;
    const removed = await timed(s.remove1, () => mls.commit(added.group, { add: [], remove: [victim.leafIndex] }));
    const member2 = (await timed(s.processRemove, () => mls.process(member1, removed.commit))).group;
    last = { owner: removed.group, member: member2 };
  }
  const ms = (xs: number[]) => summarise(xs);
  return {
    groups: last!,
    figures: {
      keyPackageMs: ms(s.keyPackage),
      createGroupCommit49Ms: ms(s.create49),
      joinFromWelcomeMs: ms(s.joinWelcome),
      addOneCommitMs: ms(s.add1),
      processAddCommitMs: ms(s.processAdd),
      removeOneCommitMs: ms(s.remove1),
      processRemoveCommitMs: ms(s.processRemove),
    },
  };
}

async function messages(mls: MlsAdapter, owner: MlsGroup, member: MlsGroup, n: number) {
  const enc: number[] = [];
  const dec: number[] = [];
  const sent: Uint8Array[] = [];
  let g = owner;
  for (let i = 0; i < n; i++) {
    const plaintext = encodeEnvelope({
      v: 1,
      type: 'text',
      body: `message ${i} of the benchmark`,
      sentAt: Date.now(),
      counter: i,
    });
    const r = await timed(enc, () => mls.encrypt(g, plaintext));
    g = r.group;
    sent.push(r.message);
  }
  let m = member;
  for (const message of sent) m = (await timed(dec, () => mls.process(m, message))).group;
  return { encryptMs: summarise(enc), decryptMs: summarise(dec), ciphertextBytes: sent[0]?.length };
}

/** Ed25519 through each provider variant: why the adapter uses WebCrypto with cached keys. */
async function signatures(n: number): Promise<Record<Ed25519Variant, { signUs: Summary; verifyUs: Summary }>> {
  const { signKey: sk, publicKey: pk } = await ed25519Signature().keygen();
  const msg = new Uint8Array(300).fill(7);
  const out = {} as Record<Ed25519Variant, { signUs: Summary; verifyUs: Summary }>;
  for (const v of ['webcrypto-cached', 'webcrypto-uncached', 'noble'] as const) {
    const s = ed25519Signature(v);
    const sig = await s.sign(sk, msg);
    const signs: number[] = [];
    const verifies: number[] = [];
    for (let i = 0; i < n; i++) {
      await timed(signs, () => s.sign(sk, msg));
      await timed(verifies, () => s.verify(pk, msg, sig));
    }
    const us = (xs: number[]) => summarise(xs.map((x) => x * 1000));
    out[v] = { signUs: us(signs), verifyUs: us(verifies) };
  }
  return out;
}

/** Runs the end-to-end encryption benchmark for each suite; returns JSON-ready figures. */
export async function e2eeBench(
  sizes: E2eeSizes,
  suites: MlsSuiteName[],
  progress: (s: string) => void,
): Promise<Record<string, unknown>> {
  const devices = await Promise.all(Array.from({ length: sizes.members + 1 }, (_, i) => identity(i)));
  const trusted = new Set(devices.map((d) => `${hexOf(d.credential)}:${hexOf(d.signaturePublic)}`));
  const validate = (c: Uint8Array, k: Uint8Array) => Promise.resolve(trusted.has(`${hexOf(c)}:${hexOf(k)}`));
  const out: Record<string, unknown> = { sizes };
  for (const suite of suites) {
    const mls = await createTsMlsAdapter({ suite, validate });
    const { groups, figures } = await lifecycle(mls, devices, sizes, progress);
    progress(`e2ee ${suite}: ${sizes.messages} messages encrypted, then decrypted by another member`);
    out[suite] = { ...figures, ...(await messages(mls, groups.owner, groups.member, sizes.messages)) };
  }
  progress('e2ee: Ed25519 provider variants');
  out.ed25519 = await signatures(Math.min(sizes.messages, 1000));
  return out;
}
