import { afterAll, beforeAll } from 'vitest';
import type { PalisadeClient } from '@palisade/client';
import { startServerProcess, type ServerProcess } from './server-process.js';
import { enrolAdmin } from './users.js';

/** A real server process with an enrolled first admin, started before and stopped after the suite. */
export interface ServerWithAdmin {
  readonly server: ServerProcess;
  readonly admin: PalisadeClient;
}

/** Registers beforeAll/afterAll hooks for a server and its first admin; read the fields inside tests. */
export function useServerWithAdmin(opts: Parameters<typeof startServerProcess>[0] = {}): ServerWithAdmin {
  const ctx: { server?: ServerProcess; admin?: PalisadeClient } = {};
  beforeAll(async () => {
    ctx.server = await startServerProcess(opts);
    ctx.admin = await enrolAdmin(ctx.server);
  });
  afterAll(async () => {
    ctx.admin?.close();
    await ctx.server?.stop();
  });
  return {
    get server() {
      return ctx.server as ServerProcess;
    },
    get admin() {
      return ctx.admin as PalisadeClient;
    },
  };
}
