import type { MessageView } from '@palisade/protocol';
import type { StoredMessage } from './events.js';

/** The one wire view of a stored message, for history pages (HTTP) and `msg` frames (WebSocket). */
export function presentMessage(m: StoredMessage): MessageView {
  return {
    seq: m.seq,
    senderId: m.senderId,
    senderDeviceId: m.senderDeviceId,
    clientMsgId: m.clientMsgId,
    payload: Buffer.from(m.payload).toString('base64'),
    sentAt: new Date(m.sentAt).toISOString(),
    kind: m.kind,
  };
}
