import { CompiledQuery, type QueryResult, type RawBuilder } from 'kysely';
import type { Executor } from './schema.js';

/** Stands for the i-th argument while a statement is compiled. */
class Slot {
  constructor(readonly index: number) {}
}

interface Compiled {
  sql: string;
  /** For each bound parameter: the argument index it takes, or -1 for a constant kept in `constants`. */
  slots: number[];
  constants: unknown[];
}

/**
 * A statement written once with Kysely's `sql` tag and compiled once per dialect: each call only binds
 * its values (no query building, no compiling), and on SQLite the driver's statement cache then reuses
 * the prepared statement for the same text. For the hot paths (a send, a delivery).
 *
 * `build` receives one placeholder per argument; use each where the value goes (any number of times).
 * Values other than the placeholders are bound as constants, the same on every call.
 */
export function prepared<A extends readonly unknown[], R>(
  arity: A['length'],
  build: (...slots: unknown[]) => RawBuilder<R>,
): (exec: Executor, ...args: A) => Promise<QueryResult<R>> {
  // Keyed by the executor's adapter: a Kysely instance and its transactions share one.
  const byAdapter = new WeakMap<object, Compiled>();
  const compile = (exec: Executor): Compiled => {
    const adapter = exec.getExecutor().adapter as object;
    let c = byAdapter.get(adapter);
    if (!c) {
      const q = build(...Array.from({ length: arity }, (_, i) => new Slot(i))).compile(exec);
      c = {
        sql: q.sql,
        slots: q.parameters.map((p) => (p instanceof Slot ? p.index : -1)),
        constants: q.parameters.map((p) => (p instanceof Slot ? undefined : p)),
      };
      byAdapter.set(adapter, c);
    }
    return c;
  };
  return (exec, ...args) => {
    const c = compile(exec);
    const params = c.slots.map((s, i) => (s < 0 ? c.constants[i] : args[s]));
    const q = CompiledQuery.raw(c.sql, params);
    // Plugins see the query as if it had been compiled now (the query-timing plugin starts its clock
    // here); a plugin that rewrites queries could not apply to a statement compiled once.
    for (const plugin of exec.getExecutor().plugins) plugin.transformQuery({ node: q.query, queryId: q.queryId });
    return exec.executeQuery<R>(q);
  };
}
