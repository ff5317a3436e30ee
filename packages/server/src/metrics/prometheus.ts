import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuthMethod, KeyOperation, Metrics } from '../core/index.js';
import { eventLoopDelayMetric } from './event-loop.js';

/** Every series of ours starts with this (the Node process series too: `palisade_nodejs_eventloop_lag_seconds`). */
export const METRIC_PREFIX = 'palisade_';

/** Buckets (seconds) for request, send and delivery latency: 1 ms to 10 s. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Buckets (seconds) for store queries and key operations: 0.1 ms to 2.5 s. */
const FAST_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5];

/**
 * The Node process series (CPU, memory, event-loop delay, GC), registered once per process: they
 * describe the process, not one server, and each set runs its own event-loop monitor, so servers
 * started in one process (tests) share this one instead of adding a monitor each. With them, the
 * cumulative `palisade_event_loop_delay_seconds` histogram (event-loop.ts).
 */
let processRegistry: Registry | undefined;
function processSeries(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: METRIC_PREFIX });
    // A metric object of our own (prom-client's Histogram cannot take bucket counts): it has the
    // `name` and `get()` that a Registry reads.
    processRegistry.registerMetric(
      eventLoopDelayMetric(`${METRIC_PREFIX}event_loop_delay_seconds`) as unknown as Histogram,
    );
  }
  return processRegistry;
}

/**
 * The Prometheus implementation of the metrics port, on a registry of its own (never prom-client's
 * global one, so several servers in one test process do not share series).
 */
export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();
  private readonly withProcess: boolean;
  private readonly http: Counter<'method' | 'route' | 'status'>;
  private readonly httpSeconds: Histogram<'method' | 'route'>;
  private readonly sockets: Gauge;
  private readonly auth: Counter<'method' | 'outcome'>;
  private readonly sent: Counter;
  private readonly delivered: Counter<'path'>;
  private readonly batch: Histogram;
  private readonly ackSeconds: Histogram;
  private readonly deliverySeconds: Histogram;
  private readonly refusals: Counter<'limit'>;
  private readonly querySeconds: Histogram<'kind'>;
  private readonly queryByKind = new Map<string, { observe(v: number): void }>();
  private readonly keyOps: Counter<'op' | 'outcome'>;
  private readonly keySeconds: Histogram<'op'>;

  /** `processMetrics: false` leaves out the Node process series (CPU, memory, event-loop delay, GC). */
  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const p = METRIC_PREFIX;
    this.http = new Counter({
      name: `${p}http_requests_total`,
      help: 'HTTP requests answered, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpSeconds = new Histogram({
      name: `${p}http_request_duration_seconds`,
      help: 'HTTP request duration, by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.sockets = new Gauge({
      name: `${p}websocket_connections`,
      help: 'Authenticated WebSocket connections open now',
      registers,
    });
    this.auth = new Counter({
      name: `${p}authentications_total`,
      help: 'Authentication attempts by method and outcome (success, mfa_required, or the error code)',
      labelNames: ['method', 'outcome'],
      registers,
    });
    this.sent = new Counter({
      name: `${p}messages_sent_total`,
      help: 'Messages committed (retries of one clientMsgId count once)',
      registers,
    });
    this.delivered = new Counter({
      name: `${p}messages_delivered_total`,
      help: 'Messages pushed to recipient sockets: live, or catchup from the store',
      labelNames: ['path'],
      registers,
    });
    this.batch = new Histogram({
      name: `${p}send_batch_size`,
      help: 'Sends committed together in one group-commit transaction',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    });
    this.ackSeconds = new Histogram({
      name: `${p}send_ack_seconds`,
      help: 'Seconds from a send frame to its acknowledgement (after COMMIT)',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.deliverySeconds = new Histogram({
      name: `${p}delivery_seconds`,
      help: 'Seconds from a message commit to its push to a live recipient socket',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.refusals = new Counter({
      name: `${p}rate_limit_refusals_total`,
      help: 'Requests refused by a rate limit, by limit name',
      labelNames: ['limit'],
      registers,
    });
    this.querySeconds = new Histogram({
      name: `${p}store_query_seconds`,
      help: 'Store query time (queueing for a connection included), by kind',
      labelNames: ['kind'],
      buckets: FAST_BUCKETS,
      registers,
    });
    this.keyOps = new Counter({
      name: `${p}key_operations_total`,
      help: 'KMS key operations by operation and outcome',
      labelNames: ['op', 'outcome'],
      registers,
    });
    this.keySeconds = new Histogram({
      name: `${p}key_operation_seconds`,
      help: 'KMS key operation time, by operation',
      labelNames: ['op'],
      buckets: FAST_BUCKETS,
      registers,
    });
    this.withProcess = opts.processMetrics ?? true;
  }

  /** The exposition text (Prometheus text format 0.0.4) and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    const registry = this.withProcess ? Registry.merge([this.registry, processSeries()]) : this.registry;
    return { contentType: this.registry.contentType, body: await registry.metrics() };
  }

  /**
   * Reports the API listener's open TCP connections (WebSockets included) as
   * `palisade_tcp_connections`, read at each scrape; compare with `http.maxConnections`.
   */
  trackConnections(read: () => Promise<number>): void {
    new Gauge({
      name: `${METRIC_PREFIX}tcp_connections`,
      help: 'Open TCP connections on the API listener, WebSockets included (limit: http.maxConnections)',
      registers: [this.registry],
      async collect() {
        this.set(await read());
      },
    });
  }

  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.http.inc({ method, route, status: String(status) });
    this.httpSeconds.observe({ method, route }, seconds);
  }

  webSocketOpen(delta: 1 | -1): void {
    this.sockets.inc(delta);
  }

  authentication(method: AuthMethod, outcome: string): void {
    this.auth.inc({ method, outcome });
  }

  messageSent(): void {
    this.sent.inc();
  }

  messageDelivered(path: 'live' | 'catchup'): void {
    this.delivered.inc({ path });
  }

  sendBatch(size: number): void {
    this.batch.observe(size);
  }

  sendToAck(seconds: number): void {
    this.ackSeconds.observe(seconds);
  }

  deliveryLatency(seconds: number): void {
    this.deliverySeconds.observe(Math.max(0, seconds));
  }

  rateLimited(limit: string): void {
    this.refusals.inc({ limit });
  }

  storeQuery(kind: string, seconds: number): void {
    // The hot path (every query): one bound child per kind, so no label hashing per observation.
    let child = this.queryByKind.get(kind);
    if (!child) this.queryByKind.set(kind, (child = this.querySeconds.labels({ kind })));
    child.observe(seconds);
  }

  keyOperation(op: KeyOperation, outcome: 'success' | 'failure', seconds: number): void {
    this.keyOps.inc({ op, outcome });
    this.keySeconds.observe({ op }, seconds);
  }
}
