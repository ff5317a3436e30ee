import { createWriteStream, type WriteStream } from 'node:fs';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { exportAudit, readExportedCheckpoints, verifyAuditChain, type AuditVerifyResult } from '../audit/index.js';
import { adminSocketPath } from '../config/index.js';
import { buildCore } from '../server/index.js';
import { fail, loadOrExit } from './load.js';
import { serverRunning } from './running.js';

const say = (line: string) => process.stderr.write(`${line}\n`);

/** Exit code of `audit verify` when the chain is not intact. */
export const EXIT_TAMPERED = 2;

/** Calls the admin socket and hands each NDJSON line of the answer to `onLine`. */
function streamSocket(socket: string, method: string, path: string, onLine: (o: Record<string, unknown>) => void) {
  return new Promise<number>((resolve, reject) => {
    const req = request({ socketPath: socket, method, path }, (res) => {
      const rl = createInterface({ input: res });
      rl.on('line', (l) => l && onLine(JSON.parse(l) as Record<string, unknown>));
      rl.on('close', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

let lastProgress = 0;
function progress(done: number, total: number) {
  const now = Date.now();
  if (now - lastProgress < 1000 || total < 10_000) return;
  lastProgress = now;
  say(`verified ${done} of ${total} records…`);
}

function report(r: AuditVerifyResult): never {
  if (r.ok) {
    say(`audit chain intact: ${r.records} records, ${r.checkpoints} signed checkpoints, head ${r.head.seq}.`);
    process.exit(0);
  }
  const b = r.firstBad;
  process.stdout.write(`${JSON.stringify(b)}\n`);
  say(
    `audit chain TAMPERED: first bad record ${b?.seq ?? '(outside the chain)'} (row id ${b?.id ?? '-'}): ${b?.problem}, ${b?.detail}.`,
  );
  process.exit(EXIT_TAMPERED);
}

/** A time option: ISO 8601 or UTC milliseconds. */
function time(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(ms)) fail(`--${name}: not a time (ISO 8601 such as 2026-01-05T10:00Z, or UTC ms): ${v}`);
  return ms;
}

type ExportOpts = {
  config?: string;
  actor?: string;
  action?: string;
  target?: string;
  from?: string;
  to?: string;
  out?: string;
};

/** `palisade audit verify|export`: through the running server's admin socket, or offline on the store. */
export function auditCommands(): Command {
  const audit = new Command('audit').description('verify and export the tamper-evident audit log');
  audit
    .command('verify')
    .description('check the whole hash chain, its signed checkpoints and its head; exit 0 intact, 2 tampered')
    .option('-c, --config <file>', 'configuration file (YAML)')
    .option(
      '--checkpoints <file>',
      'checkpoints exported outside the server (JSON lines) to hold the chain to; default audit.checkpointFile',
    )
    .action(async (opts: { config?: string; checkpoints?: string }) => {
      const config = loadOrExit(opts.config);
      const socket = adminSocketPath(config);
      const file = opts.checkpoints ?? config.audit.checkpointFile;
      if (await serverRunning(socket)) {
        let result: AuditVerifyResult | undefined;
        let error: string | undefined;
        const path = `/audit/verify${opts.checkpoints ? `?checkpoints=${encodeURIComponent(opts.checkpoints)}` : ''}`;
        await streamSocket(socket, 'POST', path, (o) => {
          if (o.progress) {
            const p = o.progress as { done: number; total: number };
            progress(p.done, p.total);
          }
          if (o.result) result = o.result as AuditVerifyResult;
          if (o.error) error = String((o.error as { message: string }).message);
        }).catch((e: Error) => fail(`cannot reach the admin socket ${socket}: ${e.message}`));
        if (!result) fail(`audit verify failed: ${error ?? 'no answer from the server'}`);
        report(result);
      }
      const core = await buildCore(config, process.env).catch((e: Error) =>
        fail(`cannot open the store: ${e.message}`),
      );
      try {
        const exported = file ? await readExportedCheckpoints(file) : [];
        const r = await verifyAuditChain(core.store.db, core.sealer, { exported, onProgress: progress });
        await core.store.close();
        report(r);
      } catch (e) {
        fail(`audit verify failed: ${(e as Error).message}`);
      }
    });
  audit
    .command('export')
    .description('write audit records (one JSON object a line, chain order); the export is itself audited')
    .option('-c, --config <file>', 'configuration file (YAML)')
    .option('--actor <userId>', 'only records by this actor')
    .option('--action <action>', 'only this action, e.g. login.failed')
    .option('--target <target>', 'only records on this target')
    .option('--from <time>', 'from this time (ISO 8601 or UTC ms), inclusive')
    .option('--to <time>', 'up to this time, inclusive')
    .option('--out <file>', 'write to this file (mode 0600) instead of stdout')
    .action(async (opts: ExportOpts) => {
      const config = loadOrExit(opts.config);
      const filter = {
        actor: opts.actor,
        action: opts.action,
        target: opts.target,
        from: time('from', opts.from),
        to: time('to', opts.to),
      };
      const out: WriteStream | NodeJS.WriteStream = opts.out
        ? createWriteStream(opts.out, { mode: 0o600, flags: 'wx' })
        : process.stdout;
      let n = 0;
      const write = (line: string) => {
        out.write(`${line}\n`);
        if (++n % 10_000 === 0) say(`exported ${n} records…`);
      };
      const socket = adminSocketPath(config);
      if (await serverRunning(socket)) {
        const qs = new URLSearchParams(
          Object.entries(filter).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)] as [string, string]])),
        );
        let end = false;
        let error: string | undefined;
        const status = await streamSocket(socket, 'GET', `/audit/export?${qs.toString()}`, (o) => {
          if (o.end) end = true;
          else if (o.error || o.code) error = String((o.error as { message?: string })?.message ?? o.message);
          else write(JSON.stringify(o));
        }).catch((e: Error) => fail(`cannot reach the admin socket ${socket}: ${e.message}`));
        if (status !== 200 || !end) fail(`audit export failed after ${n} records: ${error ?? `status ${status}`}`);
      } else {
        const core = await buildCore(config, process.env).catch((e: Error) =>
          fail(`cannot open the store: ${e.message}`),
        );
        const access = { actorId: null, read: true, export: true, address: 'cli-offline', now: Date.now() };
        try {
          for await (const r of exportAudit(core.store.db, core.sealer, access, filter)) write(JSON.stringify(r));
        } catch (e) {
          fail(`audit export failed after ${n} records: ${(e as Error).message}`);
        } finally {
          await core.store.close();
        }
      }
      await new Promise<void>((ok) => (out === process.stdout ? ok() : out.end(ok)));
      say(`exported ${n} audit records${opts.out ? ` to ${opts.out}` : ''}.`);
    });
  return audit;
}
