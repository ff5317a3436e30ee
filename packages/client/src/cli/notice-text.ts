import type { E2eeNotice } from '../e2ee/context.js';
import { invocationName } from './invocation.js';

/**
 * One line for a notice of the end-to-end layer, in words a person can act on; undefined for the
 * ones not worth a line. `name` turns a user id into a user name.
 */
export function noticeText(n: E2eeNotice, name: (userId: string) => string): string | undefined {
  const cmd = invocationName();
  switch (n.kind) {
    case 'joined':
      return n.how === 'created' ? '(end-to-end encryption set up for this conversation)' : undefined;
    case 'devices_changed': {
      const parts = [
        n.added.length ? `added ${n.added.length === 1 ? 'a device' : `${n.added.length} devices`}` : '',
        n.removed.length ? `removed ${n.removed.length === 1 ? 'a device' : `${n.removed.length} devices`}` : '',
      ].filter(Boolean);
      return `(${name(n.userId)}'s devices changed: ${parts.join(', ')}; \`${cmd} verify ${name(n.userId)}\` to compare safety numbers)`;
    }
    case 'undecryptable':
      return `(message #${n.seq} could not be decrypted: ${n.reason}; re-joining the conversation)`;
    case 'joined_late':
      return n.missed > 0
        ? `(this device joined the encrypted conversation now: ${n.missed} earlier message(s) were sent before it was set up and cannot be read here; your other devices may have them)`
        : undefined;
    case 'rejoined':
      return n.toSeq > n.fromSeq + 1
        ? `(re-joined: messages #${n.fromSeq} to #${n.toSeq - 1} could not be decrypted on this device)`
        : '(re-joined the conversation)';
    case 'rejoin_failed':
      return `(this device cannot read this conversation (${n.reason}); ask a member to add you again, or use another of your devices)`;
    case 'replayed':
      return `(a repeated copy of a message was refused (#${n.seq}): the server sent it twice)`;
    case 'reordered':
      return `(message #${n.seq} arrived out of the order it was sent in; it is shown, marked with !)`;
    case 'sender_mismatch':
      return `(warning: the server said message #${n.seq} came from another device than the one that signed it)`;
    case 'member_refused':
      return `(WARNING: a device was refused because its identity could not be verified: ${n.reason})`;
    case 'forged_plaintext':
      return `(WARNING: an unencrypted message (#${n.seq}) appeared in this end-to-end encrypted conversation: only the server can have put it there; it is not shown)`;
    case 'removed':
      return '(you were removed from this conversation: this device can no longer read it)';
    case 'no_key_packages':
      return `(${n.deviceIds.length === 1 ? 'a device has' : `${n.deviceIds.length} devices have`} not been set up for encryption yet; it will be added when it is)`;
  }
}
