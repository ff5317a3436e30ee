import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { adminSocketPath, type Config } from '../config/index.js';
import { randomId } from '../crypto/index.js';
import { DRILL_SCENARIOS, isDrillScenario, type DrillScenario } from '../server/index.js';
import { adminCall, drillAgent, type DrillTarget } from './drill-http.js';
import { stepResult, writeDrillReport, type DrillEvidence, type DrillReport, type StepRun } from './drill-report.js';
import { runScenarios, type DrillContext } from './drill-scenarios.js';
import { adminSocketUnreachable, fail, loadOrExit } from './load.js';

/** How to run a drill against a running server. */
export interface DrillOptions {
  scenario: DrillScenario | 'all';
  socketPath: string;
  target: DrillTarget;
  /** How long to wait for each step's detection after the attacks (ms). */
  timeoutMs: number;
  pollMs?: number;
  progress?: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the drill's evidence until every step has a finding or `timeoutMs` passes. */
async function waitForEvidence(
  opts: DrillOptions,
  drillId: string,
  steps: StepRun[],
  notes: string[],
): Promise<DrillEvidence> {
  const empty: DrillEvidence = { findings: [], containments: [], alerts: [] };
  const until = Date.now() + opts.timeoutMs;
  let evidence = empty;
  for (;;) {
    const r = await adminCall(opts.socketPath, 'GET', `/drills/${drillId}/evidence`);
    if (r.status !== 200) {
      notes.push(`evidence unavailable (${r.status}): ${String(r.json.message)}`);
      return evidence;
    }
    evidence = r.json as unknown as DrillEvidence;
    const pending = steps.filter((s) => !stepResult(s, evidence).detected);
    if (pending.length === 0 || Date.now() >= until) return evidence;
    await sleep(opts.pollMs ?? 500);
  }
}

/**
 * Runs a drill: creates it on the admin socket, runs the scripted attacks over HTTPS with the drill
 * headers, waits for detection, then undoes the containments, disables the synthetic accounts and
 * finishes the drill. Returns the report (the caller writes it).
 */
export async function runDrill(opts: DrillOptions): Promise<DrillReport> {
  const progress = opts.progress ?? (() => undefined);
  const started = Date.now();
  const created = await adminCall(opts.socketPath, 'POST', '/drills', {
    scenario: opts.scenario,
    ttlMs: Math.max(600_000, opts.timeoutMs * 4),
  });
  if (created.status !== 201)
    throw new Error(`the server refused the drill (${created.status}): ${String(created.json.message)}`);
  const drillId = String(created.json.id);
  progress(`drill ${drillId}: ${opts.scenario} against ${opts.target.baseUrl}`);
  const agent = drillAgent();
  const ctx: DrillContext = {
    target: opts.target,
    agent,
    drillId,
    drillToken: String(created.json.token),
    socketPath: opts.socketPath,
    tag: randomId().slice(0, 6),
    accounts: [],
    progress,
  };
  const undoneNotes: string[] = [];
  let steps: StepRun[] = [];
  let evidence: DrillEvidence = { findings: [], containments: [], alerts: [] };
  let undone: number | null = null;
  const disabled: string[] = [];
  try {
    steps = await runScenarios(ctx, opts.scenario);
    progress(`waiting up to ${Math.round(opts.timeoutMs / 1000)} s for detection`);
    evidence = await waitForEvidence(opts, drillId, steps, undoneNotes);
  } finally {
    const u = await adminCall(opts.socketPath, 'POST', `/drills/${drillId}/undo`).catch(() => undefined);
    if (u?.status === 200) undone = Number(u.json.undone);
    else undoneNotes.push(`containments not undone (${u?.status ?? 'no answer'}): undo them with the security console`);
    for (const username of ctx.accounts) {
      const r = await adminCall(opts.socketPath, 'POST', `/drills/${drillId}/disable-account`, { username }).catch(
        () => undefined,
      );
      if (r?.status === 200) disabled.push(username);
    }
    if (disabled.length < ctx.accounts.length)
      undoneNotes.push(
        `${ctx.accounts.length - disabled.length} synthetic accounts still enabled: ${ctx.accounts.filter((a) => !disabled.includes(a)).join(', ')}`,
      );
    const fin = await adminCall(opts.socketPath, 'POST', `/drills/${drillId}/finish`).catch(() => undefined);
    if (Array.isArray(fin?.json.disabled)) disabled.push(...fin.json.disabled.map(String));
    agent.destroy();
  }
  const results = steps.map((s) => stepResult(s, evidence));
  return {
    drillId,
    scenario: opts.scenario,
    server: opts.target.baseUrl,
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date().toISOString(),
    steps: results,
    undone: { containments: undone, accounts: disabled, notes: undoneNotes },
    allDetected: results.length > 0 && results.every((r) => r.detected),
  };
}

/** The public HTTPS URL and the certificate to trust, from the config and the running server. */
async function targetOf(config: Config, socketPath: string, url: string | undefined, caFile: string | undefined) {
  const certFile = caFile ?? config.server.tls.certFile ?? join(config.dataDir, 'tls', 'cert.pem');
  if (!existsSync(certFile)) fail(`no certificate at ${certFile}; pass --ca FILE`);
  let baseUrl = url;
  if (!baseUrl) {
    const st = await adminCall(socketPath, 'GET', '/status');
    const host = ['0.0.0.0', '::', ''].includes(config.server.host) ? '127.0.0.1' : config.server.host;
    baseUrl = `https://${host.includes(':') ? `[${host}]` : host}:${String(st.json.port)}`;
  }
  return { baseUrl, ca: readFileSync(certFile, 'utf8') };
}

/** `palisade drill <scenario>`: a scripted attack against a running server, and its report. */
export function drillCommand(): Command {
  return new Command('drill')
    .description(
      `rehearse an attack against a running server and measure detection and response.\nScenarios: ${DRILL_SCENARIOS.join(', ')}, all.\nTraffic is marked as a drill (audit log, findings); it comes from TEST-NET addresses, and synthetic accounts (drill-*) are disabled and containments undone afterwards.`,
    )
    .argument('<scenario>', `${DRILL_SCENARIOS.join(' | ')} | all`)
    .option('-c, --config <file>', 'configuration file (YAML)')
    .option('--out <dir>', 'where the JSON and Markdown reports go', './drill-reports')
    .option('--timeout-seconds <n>', 'how long to wait for detection after the attacks', '15')
    .option('--url <url>', 'public HTTPS URL (default: this host, the port the server reports)')
    .option('--ca <file>', "PEM to trust (default: the server's certificate in its data directory)")
    .action(
      async (
        scenario: string,
        o: { config?: string; out: string; timeoutSeconds: string; url?: string; ca?: string },
      ) => {
        if (scenario !== 'all' && !isDrillScenario(scenario))
          fail(`unknown scenario ${scenario}; one of ${DRILL_SCENARIOS.join(', ')} or all`);
        const timeout = Number(o.timeoutSeconds);
        if (!Number.isInteger(timeout) || timeout < 1 || timeout > 600) fail('--timeout-seconds must be 1 to 600');
        const config = loadOrExit(o.config);
        const socketPath = adminSocketPath(config);
        let report: DrillReport;
        try {
          const target = await targetOf(config, socketPath, o.url, o.ca);
          report = await runDrill({
            scenario,
            socketPath,
            target,
            timeoutMs: timeout * 1000,
            progress: (l) => process.stderr.write(`${l}\n`),
          });
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ENOENT' || code === 'ECONNREFUSED') fail(adminSocketUnreachable(socketPath, code, o.config));
          fail(`drill failed: ${(e as Error).message}`);
        }
        const files = writeDrillReport(o.out, report);
        for (const s of report.steps)
          process.stdout.write(
            `${s.detected ? 'detected    ' : 'NOT DETECTED'} ${s.scenario}: MTTD ${s.mttdMs ?? '-'} ms, MTTR ${s.mttrMs ?? '-'} ms, ${s.actions.length} actions\n`,
          );
        process.stdout.write(`report: ${files.json}, ${files.markdown}\n`);
        if (!report.allDetected) process.exitCode = 1;
      },
    );
}
