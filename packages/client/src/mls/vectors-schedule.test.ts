import { decodeAuthenticatedContent } from 'ts-mls/authenticatedContent.js';
import { verifyConfirmationTag } from 'ts-mls/framedContent.js';
import { encodeGroupContext } from 'ts-mls/groupContext.js';
import { initializeEpoch, mlsExporter } from 'ts-mls/keySchedule.js';
import { createConfirmedHash, createInterimHash } from 'ts-mls/transcriptHash.js';
import { describe, expect, it } from 'vitest';
import { loadVectors, runnable, SKIPPED_SUITES, tohex, unhex } from '../test-support/mls-vectors.js';

/** MLS interop vectors: the key schedule and the transcript hashes, through ts-mls as we use it. */

interface Epoch {
  commit_secret: string;
  psk_secret: string;
  tree_hash: string;
  confirmed_transcript_hash: string;
  group_context: string;
  joiner_secret: string;
  welcome_secret: string;
  init_secret: string;
  sender_data_secret: string;
  encryption_secret: string;
  exporter_secret: string;
  epoch_authenticator: string;
  external_secret: string;
  confirmation_key: string;
  membership_key: string;
  resumption_psk: string;
  external_pub: string;
  exporter: { label: string; context: string; length: number; secret: string };
}
interface KeyScheduleVector {
  cipher_suite: number;
  group_id: string;
  initial_init_secret: string;
  epochs: Epoch[];
}

describe('key-schedule vectors', async () => {
  const { run, skipped } = await runnable(loadVectors<KeyScheduleVector>('key-schedule'));
  it('runs the suites ts-mls supports here, skipping the others by name', () => {
    expect(run.map((r) => r.v.cipher_suite)).toEqual([1, 2, 5, 7]);
    expect(skipped).toEqual(SKIPPED_SUITES);
  });
  it.each(run.map((r) => [r.name, r] as const))(
    '%s: every epoch secret, the GroupContext, external_pub, the exporter',
    async (_n, { v, cs }) => {
      let init = unhex(v.initial_init_secret);
      expect(v.epochs).toHaveLength(5);
      for (const [i, e] of v.epochs.entries()) {
        const gc = {
          version: 'mls10' as const,
          cipherSuite: cs.name,
          groupId: unhex(v.group_id),
          epoch: BigInt(i),
          treeHash: unhex(e.tree_hash),
          confirmedTranscriptHash: unhex(e.confirmed_transcript_hash),
          extensions: [],
        };
        expect(tohex(encodeGroupContext(gc))).toBe(e.group_context);
        const s = await initializeEpoch(init, unhex(e.commit_secret), gc, unhex(e.psk_secret), cs.kdf);
        const k = s.keySchedule;
        expect(tohex(s.joinerSecret)).toBe(e.joiner_secret);
        expect(tohex(s.welcomeSecret)).toBe(e.welcome_secret);
        expect(tohex(s.encryptionSecret)).toBe(e.encryption_secret);
        expect(tohex(k.senderDataSecret)).toBe(e.sender_data_secret);
        expect(tohex(k.exporterSecret)).toBe(e.exporter_secret);
        expect(tohex(k.epochAuthenticator)).toBe(e.epoch_authenticator);
        expect(tohex(k.externalSecret)).toBe(e.external_secret);
        expect(tohex(k.confirmationKey)).toBe(e.confirmation_key);
        expect(tohex(k.membershipKey)).toBe(e.membership_key);
        expect(tohex(k.resumptionPsk)).toBe(e.resumption_psk);
        expect(tohex(k.initSecret)).toBe(e.init_secret);
        const external = await cs.hpke.deriveKeyPair(k.externalSecret);
        expect(tohex(await cs.hpke.exportPublicKey(external.publicKey))).toBe(e.external_pub);
        const x = e.exporter;
        // The label is the text as written in the vector (test-vectors.md: `"label": /* string */`).
        expect(tohex(await mlsExporter(k.exporterSecret, x.label, unhex(x.context), x.length, cs))).toBe(x.secret);
        init = k.initSecret;
      }
    },
  );
});

interface TranscriptVector {
  cipher_suite: number;
  confirmation_key: string;
  authenticated_content: string;
  interim_transcript_hash_before: string;
  confirmed_transcript_hash_after: string;
  interim_transcript_hash_after: string;
}

describe('transcript-hashes vectors', async () => {
  const { run, skipped } = await runnable(loadVectors<TranscriptVector>('transcript-hashes'));
  it('runs the suites ts-mls supports here, skipping the others by name', () => {
    expect(run.map((r) => r.v.cipher_suite)).toEqual([1, 2, 5, 7]);
    expect(skipped).toEqual(SKIPPED_SUITES);
  });
  it.each(run.map((r) => [r.name, r] as const))('%s', async (_n, { v, cs }) => {
    const bytes = unhex(v.authenticated_content);
    const decoded = decodeAuthenticatedContent(bytes, 0);
    expect(decoded?.[1]).toBe(bytes.length);
    const ac = decoded![0];
    expect(ac.content.contentType).toBe('commit');
    if (ac.auth.contentType !== 'commit' || ac.content.contentType !== 'commit') return;
    const tag = ac.auth.confirmationTag;
    const after = unhex(v.confirmed_transcript_hash_after);
    expect(await verifyConfirmationTag(unhex(v.confirmation_key), tag, after, cs.hash)).toBe(true);
    const confirmed = await createConfirmedHash(
      unhex(v.interim_transcript_hash_before),
      { wireformat: ac.wireformat, content: ac.content, signature: ac.auth.signature },
      cs.hash,
    );
    expect(tohex(confirmed)).toBe(v.confirmed_transcript_hash_after);
    expect(tohex(await createInterimHash(after, tag, cs.hash))).toBe(v.interim_transcript_hash_after);
  });
});
