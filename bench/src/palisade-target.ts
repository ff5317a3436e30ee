import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeviceKey, PalisadeClient } from '@palisade/client';
import { createNodeClient } from '@palisade/client/node';
import { startPalisade } from './spawn.js';
import type { BenchClient, Target } from './target.js';

const PASS = 'benchmark passphrase that is long enough';

/** Palisade as a benchmark target: a real server process, real users, the real SDK. */
export async function palisadeTarget(
  dataDir: string,
  progress: (s: string) => void,
  opts: {
    sealMessages?: boolean;
    name?: string;
    env?: Record<string, string>;
    /** Start through bin/palisade-serve (the `npm start` path) instead of node directly. */
    launcher?: boolean;
    /** Extra node flags for the server. */
    nodeArgs?: string[];
    /** Extra top-level YAML lines for the server's config (e.g. a `detect:` section). */
    extraConfig?: string[];
  } = {},
): Promise<
  Target & {
    baseUrl: string;
    ca: string;
    stderr: () => string;
    stdout: () => string;
    sdkClient: (user: number) => PalisadeClient;
  }
> {
  // Rate limits are a policy, not a capacity: lift them so the benchmark measures the server.
  const configFile = join(dataDir, 'bench.yaml');
  writeFileSync(
    configFile,
    [
      'limits:',
      '  overrides:',
      "    'message.send': { burst: 1000000, perSecond: 1000000 }",
      "    'message.user': { burst: 1000000, perSecond: 1000000 }",
      "    'message.conversation': { burst: 1000000, perSecond: 1000000 }",
      // Byte budgets: a million 64 KiB payloads' worth, i.e. unlimited for any run.
      "    'message.bytes.device': { burst: 70000000000, perSecond: 70000000000 }",
      "    'message.bytes.user': { burst: 70000000000, perSecond: 70000000000 }",
      "    'message.bytes.conversation': { burst: 70000000000, perSecond: 70000000000 }",
      "    'connect.address': { burst: 1000000, perSecond: 1000000 }",
      "    'login.address': { burst: 1000000, perSecond: 1000000 }",
      "    'login.network': { burst: 1000000, perSecond: 1000000 }",
      "    'login.account': { burst: 1000000, perSecond: 1000000 }",
      "    'enrol.address': { burst: 1000000, perSecond: 1000000 }",
      "    'enrol.network': { burst: 1000000, perSecond: 1000000 }",
      // Connection caps too: every benchmark client comes from 127.0.0.1.
      'http:',
      '  maxConnections: 200000',
      '  maxConnectionsPerAddress: 100000',
      'keys:',
      `  sealMessages: ${opts.sealMessages ?? true}`,
      ...(opts.extraConfig ?? []),
      '',
    ].join('\n'),
  );
  const server = await startPalisade(dataDir, configFile, opts.env, opts);
  const baseUrl = `https://127.0.0.1:${server.port}`;
  const users: { name: string; key: DeviceKey; token: string }[] = [];
  const client = (key: DeviceKey, token?: string) =>
    createNodeClient({ baseUrl, ca: server.ca, deviceKey: key, token });
  const adminKey = DeviceKey.generate();
  const admin = client(adminKey);
  await admin.api.enrol({ token: server.token, username: 'u0', password: PASS });
  await admin.login('u0', PASS, 'bench');
  users.push({ name: 'u0', key: adminKey, token: admin.token as string });

  const ensureUsers = async (n: number) => {
    while (users.length < n) {
      const name = `u${users.length}`;
      const key = DeviceKey.generate();
      const c = client(key);
      await c.api.enrol({ token: (await admin.api.invite()).token, username: name, password: PASS });
      await c.login(name, PASS, 'bench');
      users.push({ name, key, token: c.token as string });
      if (users.length % 10 === 0) progress(`  palisade: ${users.length}/${n} users`);
    }
  };

  // The metrics listener (loopback, no token: the bench's peer address is loopback) prints its URL in the banner.
  const metricsUrl = () => {
    const url = /^Metrics \(Prometheus\): (\S+)/m.exec(server.stderr())?.[1];
    if (url === undefined) throw new Error('palisade printed no metrics URL');
    return url;
  };

  return {
    name: opts.name ?? 'palisade',
    pid: server.child.pid as number,
    metrics: { url: metricsUrl },
    async login(user) {
      // A fresh client (a new TLS connection), the user's own device: its session replaces the one kept.
      const u = users[user]!;
      const c = client(u.key);
      await c.login(u.name, PASS, 'bench');
      u.token = c.token as string;
      c.close();
    },
    baseUrl,
    ca: server.ca,
    stderr: server.stderr,
    stdout: server.stdout,
    async conversation(n) {
      await ensureUsers(n);
      const owner = client(users[0]!.key, users[0]!.token);
      if (n === 2) return (await owner.api.openDirect(users[1]!.name)).id;
      return (
        await owner.api.createGroup(
          `bench-${Date.now()}`,
          users.slice(1, n).map((u) => u.name),
        )
      ).id;
    },
    async connect(user) {
      const u = users[user]!;
      const c: PalisadeClient = client(u.key, u.token);
      const bc: BenchClient = {
        onMessage: undefined,
        send: async (conv, payload) => void (await c.send(conv, payload)),
        close: () => c.close(),
      };
      c.on.message = (m) => bc.onMessage?.(m.conversationId, m.payload);
      await c.connect();
      // The SDK's default: binary payload frames (docs/protocol.md); the bench measures that path.
      if (c.realtime.frameFormat !== 'binary') throw new Error('the server did not accept binary payload frames');
      return bc;
    },
    /** A logged-in SDK client of an existing user, not connected (for the end-to-end target). */
    sdkClient: (user) => client(users[user]!.key, users[user]!.token),
    stop: () => server.stop(),
  };
}
