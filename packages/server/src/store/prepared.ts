import { CompiledQuery, type Compilable, type QueryResult, type RawBuilder } from 'kysely';
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

type Run<A extends readonly unknown[], R> = (exec: Executor, ...args: A) => Promise<QueryResult<R>>;

/** Compiles once per adapter (a Kysely instance and its transactions share one) and binds per call. */
function compiledOnce<A extends readonly unknown[], R>(
  arity: number,
  compile: (exec: Executor, slots: Slot[]) => CompiledQuery,
): Run<A, R> {
  const byAdapter = new WeakMap<object, Compiled>();
  return (exec, ...args) => {
    const adapter = exec.getExecutor().adapter as object;
    let c = byAdapter.get(adapter);
    if (!c) {
      const q = compile(
        exec,
        Array.from({ length: arity }, (_, i) => new Slot(i)),
      );
      c = {
        sql: q.sql,
        slots: q.parameters.map((p) => (p instanceof Slot ? p.index : -1)),
        constants: q.parameters.map((p) => (p instanceof Slot ? undefined : p)),
      };
      byAdapter.set(adapter, c);
    }
    const { slots, constants } = c;
    const params = slots.map((s, i) => (s < 0 ? constants[i] : args[s]));
    const q = CompiledQuery.raw(c.sql, params);
    // Plugins see the query as if it had been compiled now (the query-timing plugin starts its clock
    // here); a plugin that rewrites queries could not apply to a statement compiled once.
    for (const plugin of exec.getExecutor().plugins) plugin.transformQuery({ node: q.query, queryId: q.queryId });
    return exec.executeQuery<R>(q);
  };
}

/**
 * A statement written once with Kysely's `sql` tag and compiled once per dialect: each call only binds
 * its values (no query building, no compiling), and on SQLite the driver's statement cache then reuses
 * the prepared statement for the same text. For the hot paths (a send, a delivery, a connect).
 *
 * `build` receives one placeholder per argument; use each where the value goes (any number of times).
 * Values other than the placeholders are bound as constants, the same on every call.
 */
export function prepared<A extends readonly unknown[], R>(
  arity: A['length'],
  build: (...slots: unknown[]) => RawBuilder<R>,
): Run<A, R> {
  return compiledOnce(arity, (exec, slots) => build(...slots).compile(exec));
}

/**
 * Like {@link prepared}, for a query written with the query builder (its result type is inferred):
 * `build` gets the executor and one placeholder per argument, typed as the argument. Placeholders
 * may stand only where a single value is bound (not in `in` lists, which the builder expands).
 */
export function preparedQuery<A extends readonly unknown[], R>(
  arity: A['length'],
  build: (exec: Executor, ...args: A) => Compilable<R>,
): Run<A, R> {
  return compiledOnce(arity, (exec, slots) => build(exec, ...(slots as unknown as A)).compile());
}
