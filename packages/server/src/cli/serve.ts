import { Command } from 'commander';
import { DataDirLockedError, PreflightError, startServer } from '../server/index.js';
import { postgresUrlInfo, storeTlsDecision } from '../config/index.js';
import { CHAT_CLI, CLI, loadOrExit, withConfigFlag } from './load.js';

/** Time past `server.shutdownGraceSeconds` that closing the listener, flushes and the store may take. */
const SHUTDOWN_SLACK_MS = 5000;

/** `palisade serve`: start the server and stop gracefully on SIGINT/SIGTERM. */
export function serveCommand(): Command {
  return new Command('serve')
    .description('start the server (HTTPS and WSS on one port)')
    .option('-c, --config <file>', 'configuration file (YAML); default ./palisade.yaml if present')
    .action(async (opts: { config?: string }) => {
      const config = loadOrExit(opts.config);
      // SECURITY: everything the server writes (database, keys, socket) is private to its OS user.
      process.umask(0o077);
      // A reader of stdout/stderr that goes away (EPIPE) must not stop the server or its graceful
      // shutdown: the banner and the ready line are best effort (the log has its own destination).
      for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
      let server: Awaited<ReturnType<typeof startServer>>;
      try {
        // SECURITY (item 21): under systemd or docker stderr is a log; the first-admin token then goes
        // to a 0600 file and only its path is printed.
        server = await startServer(config, process.env, { bootstrapToFile: process.stderr.isTTY !== true });
      } catch (e) {
        // An operator error (wrong secret, token, port, store) gets one clear line each, not a stack trace.
        if (e instanceof DataDirLockedError) {
          process.stderr.write(`cannot start: ${e.message}\n`);
          process.exit(1);
        }
        const lines =
          e instanceof PreflightError ? e.problems.map((p) => `${p.message} (${p.key})`) : [(e as Error).message];
        process.stderr.write(
          `${lines.map((l) => `cannot start: ${l}`).join('\n')}\nNothing was created or changed. Check the configuration (${withConfigFlag(`${CLI} config check --connect`, opts.config)}) and docs/operations.md.\n`,
        );
        process.exit(1);
      }
      const url = `https://${config.server.host === '0.0.0.0' ? 'localhost' : config.server.host}:${server.port}`;
      const err = process.stderr;
      err.write(`\nPalisade is listening on ${url} (store: ${server.core.store.dialect}, data: ${config.dataDir})\n`);
      err.write(`TLS certificate (${server.tls.source}) SHA-256 fingerprint: ${server.tls.fingerprint}\n`);
      if (server.metrics)
        err.write(
          `Metrics (Prometheus): ${server.metrics.url} (${server.metrics.tokenRequired ? 'bearer token required' : 'loopback peers only'})\n`,
        );
      const pg =
        config.store.url !== undefined && /^postgres(ql)?:\/\//.test(config.store.url)
          ? postgresUrlInfo(config.store.url)
          : undefined;
      if (pg) {
        const { mode } = storeTlsDecision(config.store.url!, config.store.tls);
        err.write(`PostgreSQL link: ${mode === 'disable' ? 'no TLS' : `TLS ${mode}`}\n`);
        // S22: the operator opted out of TLS to another host; say so at every start.
        if (mode === 'disable' && !pg.loopback)
          err.write(
            `WARNING: the link to PostgreSQL at ${pg.host} is not encrypted (store.tls.insecureAllowPlaintext).\n`,
          );
      }
      if (server.core.masterSecretGeneratedAt) {
        err.write(`\nGenerated the master secret of the local key store at ${server.core.masterSecretGeneratedAt}.\n`);
        err.write(
          "Anyone holding it and a copy of the data directory can read the server's sealed data: move it to a\n",
        );
        err.write(
          'secret manager or another disk, then set keys.masterSecret to secret://file/... or secret://env/... .\n',
        );
      }
      const b = server.bootstrap;
      if (b?.file) {
        // SECURITY: stderr is not a terminal (a log stream, maybe): only the file's path is printed.
        err.write(
          `\nNo account exists yet. The one-time enrolment token for the first admin (valid until ${new Date(b.expiresAt).toISOString()})\n`,
        );
        err.write(`is in the file ${b.file} (mode 0600; removed once it is used or expires).\n`);
        err.write(
          `Enrol with: ${CHAT_CLI} enrol --server ${url} --username <name> --fingerprint ${server.tls.fingerprint} --token-file ${b.file}\n`,
        );
        if (server.tls.source === 'operator')
          err.write(
            'If your CA is not in the system store of the client, add --ca CA.pem (the CA certificate) as well.\n',
          );
        err.write('\n');
      } else if (b) {
        // SECURITY: shown once, to the operator's terminal only; never written to the log.
        err.write(
          `\nNo account exists yet. One-time enrolment token for the first admin (valid until ${new Date(b.expiresAt).toISOString()}):\n`,
        );
        err.write(`  ${b.token}\n`);
        // S18: never suggest the token on a command line (every local user can read /proc/<pid>/cmdline).
        err.write(
          `Enrol with: ${CHAT_CLI} enrol --server ${url} --username <name> --fingerprint ${server.tls.fingerprint}\n`,
        );
        err.write('and paste the token when it asks (or save it in a 0600 file and add --token-file FILE).\n');
        // A client that does not trust the operator's CA needs the CA certificate, not a fingerprint.
        if (server.tls.source === 'operator')
          err.write(
            'If your CA is not in the system store of the client, add --ca CA.pem (the CA certificate) as well.\n',
          );
        err.write('\n');
      }
      err.write('Ready. Press Ctrl-C to stop.\n');
      // The machine-readable start signal for supervisors, tests and the bench: one JSON line on stdout in
      // the log's shape, written at any log level, after the banner. It never carries the bootstrap token
      // (that stays on the terminal); `bootstrap` only says whether one was printed.
      process.stdout.write(
        `${JSON.stringify({ level: 30, time: Date.now(), svc: 'palisade', msg: 'ready', port: server.port, url, fingerprint: server.tls.fingerprint, bootstrap: server.bootstrap !== undefined })}\n`,
      );
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        err.write(`${signal}: shutting down gracefully...\n`);
        // A stalled store (or KMS) must not keep the process alive past the grace period: past the
        // drain, nothing unacknowledged is lost by exiting (acks follow COMMIT), so stop anyway.
        const boundMs = config.server.shutdownGraceSeconds * 1000 + SHUTDOWN_SLACK_MS;
        setTimeout(() => {
          err.write(
            `shutdown did not finish within ${boundMs / 1000} s (is the store answering?); exiting now. Acknowledged messages are committed; clients resend the rest.\n`,
          );
          process.exit(1);
        }, boundMs).unref();
        void server.close().then(
          () => process.exit(0),
          (e: unknown) => {
            err.write(
              `shutdown incomplete: ${(e as Error).message}; exiting. Acknowledged messages are committed; clients resend the rest.\n`,
            );
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
}
