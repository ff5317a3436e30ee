import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';
import type { Metrics } from '../core/index.js';

const KINDS: Record<string, string> = {
  SelectQueryNode: 'select',
  InsertQueryNode: 'insert',
  UpdateQueryNode: 'update',
  DeleteQueryNode: 'delete',
};
const RAW_KINDS = new Set(['select', 'insert', 'update', 'delete', 'with']);

/** The label of a query: its statement kind (raw `sql` text is classified by its first word). */
export function queryKind(node: RootOperationNode): string {
  const known = KINDS[node.kind];
  if (known) return known;
  if (node.kind === 'RawNode') {
    const word = /^\s*([A-Za-z]+)/.exec(node.sqlFragments[0] ?? '')?.[1]?.toLowerCase();
    return word && RAW_KINDS.has(word) ? word : 'other';
  }
  return 'other';
}

/**
 * A Kysely plugin that times every query from compilation to result (waiting for a connection
 * included: that is what callers feel). Queries that fail are not timed (Kysely calls no hook then).
 * Install with `db.withPlugin(new QueryTimingPlugin(metrics))`; transactions inherit it.
 */
export class QueryTimingPlugin implements KyselyPlugin {
  // A WeakMap, as Kysely asks: a compiled query that never runs leaves nothing behind.
  private readonly started = new WeakMap<object, { at: number; kind: string }>();

  constructor(
    private readonly metrics: Pick<Metrics, 'storeQuery'>,
    private readonly now: () => number = () => performance.now(),
  ) {}

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.started.set(args.queryId, { at: this.now(), kind: queryKind(args.node) });
    return args.node;
  }

  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const s = this.started.get(args.queryId);
    if (s) {
      this.started.delete(args.queryId);
      this.metrics.storeQuery(s.kind, (this.now() - s.at) / 1000);
    }
    return Promise.resolve(args.result);
  }
}
