/** One client connection as the benchmark drives it, on Palisade or on the bare relay. */
export interface BenchClient {
  /** Sends a payload; resolves when the server acknowledges it (Palisade: after COMMIT). */
  send(conversationId: string, payload: Uint8Array): Promise<void>;
  /** Called for every message delivered to this connection. */
  onMessage: ((conversationId: string, payload: Uint8Array) => void) | undefined;
  close(): void;
}

/** A server under test. */
export interface Target {
  name: string;
  /** PID of the server process (memory and CPU readings: see proc.ts). */
  pid: number;
  /**
   * Where the server's event-loop delay histogram (`palisade_event_loop_delay_seconds`) is scraped:
   * a URL (read when first needed) and the CA for HTTPS. Absent: no event-loop delay for this target.
   */
  metrics?: { url: () => string; ca?: string };
  /** One full password login of an existing user (no connection kept); absent where there is none. */
  login?(user: number): Promise<void>;
  /** Connects and authenticates one fresh connection of an existing user; resolves when ready. */
  connect(user: number): Promise<BenchClient>;
  /** Prepares `n` users who all belong to one conversation; returns its id. */
  conversation(n: number): Promise<string>;
  stop(): Promise<void>;
}
