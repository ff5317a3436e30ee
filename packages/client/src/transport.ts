/** The platform seams the SDK needs; Node's live in `./node`, a browser's would use fetch and WebSocket. */

/** A minimal HTTP response. */
export interface HttpResponse {
  status: number;
  body: unknown;
}

/** Sends one JSON request to the server. */
export interface HttpTransport {
  /**
   * `bodyText` is the JSON text, already serialised: send exactly these bytes (UTF-8) with
   * `Content-Type: application/json`, because the request proof signs their SHA-256.
   */
  request(
    method: string,
    path: string,
    bodyText: string | undefined,
    headers: Record<string, string>,
  ): Promise<HttpResponse>;
}

/**
 * A WebSocket as the SDK uses it. A socket that also carries binary messages has `sendBinary` and
 * calls `onbinary` for each binary message it receives; only then does the SDK ask the server for
 * binary payload frames (docs/protocol.md, "Binary payload frames"). Without them it speaks JSON only.
 */
export interface SocketLike {
  send(text: string): void;
  /** Sends one binary WebSocket message. */
  sendBinary?(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: (() => void) | null;
  onmessage: ((text: string) => void) | null;
  /** Set by the SDK: called with each binary WebSocket message received. */
  onbinary?: ((data: Uint8Array) => void) | null;
  onclose: ((code: number, reason: string) => void) | null;
}

/** Opens WebSockets to the server. */
export interface SocketFactory {
  open(path: string): SocketLike;
}
