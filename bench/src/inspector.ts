import { createWriteStream } from 'node:fs';
import { WebSocket } from 'ws';

/** What the server's V8 says about its heap (from `process.memoryUsage()` in the server). */
export interface HeapFigures {
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  arrayBuffersMiB: number;
}

/**
 * A DevTools-protocol connection to a server started with `--inspect=127.0.0.1:0`: the bench's way
 * to force a full GC and take heap snapshots in the server without any endpoint in the product.
 * Bench-only: the inspector is never on in a served process.
 */
export class Inspector {
  private nextId = 1;
  private readonly waiting = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void }>();
  private onChunk: ((s: string) => void) | undefined;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const m = JSON.parse(data.toString()) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
        method?: string;
        params?: { chunk?: string };
      };
      if (m.method === 'HeapProfiler.addHeapSnapshotChunk') this.onChunk?.(m.params?.chunk ?? '');
      if (m.id === undefined) return;
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.error) w?.fail(new Error(m.error.message));
      else w?.ok(m.result);
    });
  }

  /** Connects to the inspector whose URL the server printed on stderr ("Debugger listening on ws://..."). */
  static async connect(stderr: string): Promise<Inspector> {
    const url = /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1];
    if (url === undefined)
      throw new Error('the server did not print an inspector URL; start it with --inspect=127.0.0.1:0');
    const ws = new WebSocket(url, { maxPayload: 1 << 30 });
    await new Promise<void>((ok, fail) => ws.once('open', ok).once('error', fail));
    return new Inspector(ws);
  }

  private call(method: string, params: object = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((ok, fail) => {
      this.waiting.set(id, { ok, fail });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** A full, compacting GC in the server (what `global.gc()` does). */
  async gc(): Promise<void> {
    await this.call('HeapProfiler.enable');
    await this.call('HeapProfiler.collectGarbage');
  }

  /** The server's heap figures now. */
  async heap(): Promise<HeapFigures> {
    const r = (await this.call('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    })) as { result: { value: string } };
    const u = JSON.parse(r.result.value) as Record<string, number>;
    const m = (k: string) => Math.round(((u[k] ?? NaN) / 2 ** 20) * 10) / 10;
    return {
      heapUsedMiB: m('heapUsed'),
      heapTotalMiB: m('heapTotal'),
      externalMiB: m('external'),
      arrayBuffersMiB: m('arrayBuffers'),
    };
  }

  /** Writes a heap snapshot (V8 runs a full GC first, so it holds only what is reachable) to `file`. */
  async snapshot(file: string): Promise<void> {
    const out = createWriteStream(file);
    this.onChunk = (s) => out.write(s);
    await this.call('HeapProfiler.enable');
    await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    this.onChunk = undefined;
    await new Promise<void>((ok, fail) => out.end((e?: Error | null) => (e ? fail(e) : ok())));
  }

  close(): void {
    this.ws.close();
  }
}
