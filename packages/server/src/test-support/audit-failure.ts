import { sql } from 'kysely';
import type { StoreHandle } from './with-all-stores.js';

/**
 * A real failure inside the real transaction: a trigger that aborts the insert of an audit record
 * whose action is listed in `test_fail_actions` (SQLite RAISE, PostgreSQL RAISE EXCEPTION). `arm(action)`
 * makes every later insert of that action fail with "injected audit failure"; `disarm()` clears the list.
 */
export async function installAuditFailure(
  h: StoreHandle,
): Promise<{ arm(action: string): Promise<void>; disarm(): Promise<void> }> {
  const db = h.get().db;
  await sql`CREATE TABLE IF NOT EXISTS test_fail_actions (action TEXT PRIMARY KEY)`.execute(db);
  if (h.kind === 'sqlite') {
    await sql`CREATE TRIGGER IF NOT EXISTS test_fail_audit BEFORE INSERT ON audit_log WHEN NEW.action IN (SELECT action FROM test_fail_actions) BEGIN SELECT RAISE(ABORT, 'injected audit failure'); END`.execute(
      db,
    );
  } else {
    await sql
      .raw(
        `CREATE OR REPLACE FUNCTION test_fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.action IN (SELECT action FROM test_fail_actions) THEN RAISE EXCEPTION 'injected audit failure'; END IF; RETURN NEW; END $$`,
      )
      .execute(db);
    await sql`DROP TRIGGER IF EXISTS test_fail_audit ON audit_log`.execute(db);
    await sql`CREATE TRIGGER test_fail_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION test_fail_audit()`.execute(
      db,
    );
  }
  return {
    arm: async (action) => void (await sql`INSERT INTO test_fail_actions (action) VALUES (${action})`.execute(db)),
    disarm: async () => void (await sql`DELETE FROM test_fail_actions`.execute(db)),
  };
}
