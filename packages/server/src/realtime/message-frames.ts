import { encodeMsgFrame } from '@palisade/protocol';
import { presentMessage, type StoredMessage } from '../messaging/index.js';

/** The two wire formats of a delivered message: a JSON text frame or a binary frame. */
export type FrameFormat = 'json' | 'binary';

/** One serialised frame and its size in bytes (UTF-8 for text). */
export interface Encoded {
  data: string | Uint8Array;
  bytes: number;
}

/**
 * A committed message with its `msg` frame serialised at most once per format, on first use: the hub
 * makes one per fan-out, and every receiving connection pushes the same string or bytes.
 * SECURITY: the frames hold exactly what the connection-level `msg` frame held (presentMessage);
 * what a receiver may see is still decided per connection (membership, cursors) before it pushes.
 */
export class MessageFrames {
  private json: Encoded | undefined;
  private binary: Encoded | undefined;

  constructor(readonly message: StoredMessage) {}

  /**
   * The `msg` frame in the given format (serialised on the first call, then shared). A message the
   * binary layout cannot carry (e.g. an MLS commit over 64 KiB) goes as its JSON frame, which every
   * binary connection also reads: delivery never fails on the format.
   */
  encoded(format: FrameFormat): Encoded {
    if (format === 'json') return (this.json ??= encodeJson(this.message));
    return (this.binary ??= encodeBinary(this.message) ?? this.encoded('json'));
  }
}

function encodeJson(m: StoredMessage): Encoded {
  const data = JSON.stringify({ type: 'msg', conversationId: m.conversationId, ...presentMessage(m) });
  return { data, bytes: Buffer.byteLength(data) };
}

function encodeBinary(m: StoredMessage): Encoded | undefined {
  let data: Uint8Array;
  try {
    data = encodeMsgFrame({
      conversationId: m.conversationId,
      seq: m.seq,
      senderId: m.senderId,
      senderDeviceId: m.senderDeviceId,
      clientMsgId: m.clientMsgId,
      sentAt: m.sentAt,
      kind: m.kind,
      payload: m.payload,
    });
  } catch {
    return undefined; // a RangeError: a field outside the binary layout's limits
  }
  return { data, bytes: data.byteLength };
}
