import pg from 'pg';
import { sql } from 'kysely';
import { openLimits } from '../../gateway/limiter';
import { openStore } from '../../gateway/store/db';
import { describeWith, freshPgSchema, PG_URL } from '../helpers/services';

/**
 * PostgreSQL restarted under a running gateway (`pg_ctl restart`, a failover): every connection is cut.
 * The process must live on and reconnect; an unhandled 'error' of pg used to end it.
 */
/** The exceptions nobody handled while it watches: what would have ended a gateway process. */
function watchUncaught(): { seen: unknown[]; stop: () => void } {
  const seen: unknown[] = [];
  const on = (e: unknown) => seen.push(e);
  process.on('uncaughtException', on);
  return { seen, stop: () => process.off('uncaughtException', on) };
}

describeWith('postgres', 'PostgreSQL connections cut under the store', () => {
  test('a connection cut while idle in the pool and one cut inside a transaction: no crash, the next queries work', async () => {
    const schema = await freshPgSchema();
    const store = await openStore(schema.url);
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    const uncaught = watchUncaught();
    try {
      // two connections in the pool, idle
      const pids = await Promise.all(
        [1, 2].map(() => sql<{ pid: number }>`select pg_backend_pid() as pid, pg_sleep(0.05)`.execute(store.db)),
      );
      const idle = [...new Set(pids.map((r) => r.rows[0].pid))];
      const inTransaction = store.db.transaction().execute(async (trx) => {
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
        // the server ends this session (and the idle ones) between two statements of the transaction
        await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where pid = any($1)', [[...idle, rows[0].pid]]);
        await new Promise((r) => setTimeout(r, 200));
        await sql`select 1`.execute(trx);
      });
      await expect(inTransaction).rejects.toThrow(/terminat|Connection|closed/i);
      await new Promise((r) => setTimeout(r, 200));
      const again = await sql<{ one: number }>`select 1 as one`.execute(store.db);
      expect(again.rows[0].one).toBe(1);
      expect(uncaught.seen).toEqual([]);
    } finally {
      uncaught.stop();
      await admin.end();
      await store.close();
      await schema.drop();
    }
  });

  test("a connection holding a 1C base's slot cut mid-call: no crash, the call ends, the slot is free again", async () => {
    const limits = openLimits(PG_URL);
    const slots = limits.concurrency(`onec:cut-${process.pid}-${Date.now()}`, 1);
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    const uncaught = watchUncaught();
    try {
      const outcome = await slots
        .run(async () => {
          // the server ends the limits' sessions while this call holds the slot
          await admin.query(
            "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'onec-gateway limits' and pid <> pg_backend_pid()",
          );
          await new Promise((r) => setTimeout(r, 200));
          return 'called';
        })
        .then(
          (v) => v,
          (e: Error) => `refused: ${e.message}`,
        );
      expect(outcome).toBe('called');
      await new Promise((r) => setTimeout(r, 200));
      expect(await slots.run(async () => 'again')).toBe('again');
      expect(uncaught.seen).toEqual([]);
    } finally {
      uncaught.stop();
      await admin.end();
      await limits.close();
    }
  });
});
