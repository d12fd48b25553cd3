// EXPLAIN QUERY PLAN of every SELECT a call runs, with the parameters it ran with: how the grid's query tests and
// bench/grid-queries.ts check that pages walk an index instead of scanning or sorting the images table.
import type { Database } from '../../electron/catalogue/database';

export interface RanQuery {
  sql: string;
  plan: string;
}

/** Runs `call` with db.prepare wrapped so each SELECT's plan is recorded the first time it runs. */
export function withPlans<T>(db: Database, call: () => T): { value: T; queries: RanQuery[] } {
  const queries: RanQuery[] = [];
  const original = db.prepare.bind(db);
  const patched = (source: string) => {
    const statement = original(source);
    if (!/^\s*SELECT/i.test(source)) return statement;
    const explain = original(`EXPLAIN QUERY PLAN ${source}`);
    return new Proxy(statement, {
      get(target, key) {
        const value = Reflect.get(target, key) as unknown;
        if (typeof value !== 'function') return value;
        if (key === 'get' || key === 'all' || key === 'iterate') {
          return (...params: unknown[]) => {
            const plan = (explain.all(...params) as Array<{ detail: string }>).map((row) => row.detail).join('; ');
            if (!queries.some((query) => query.sql === source && query.plan === plan)) queries.push({ sql: source, plan });
            return (value as (...args: unknown[]) => unknown).apply(target, params);
          };
        }
        return (value as (...args: unknown[]) => unknown).bind(target);
      },
    });
  };
  (db as unknown as { prepare: unknown }).prepare = patched;
  try {
    return { value: call(), queries };
  } finally {
    (db as unknown as { prepare: unknown }).prepare = original;
  }
}
