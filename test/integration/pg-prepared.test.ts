import pg from 'pg';
import { sql } from 'kysely';
import { openStore, type Store } from '../../gateway/store/db';
import { migrateToLatest } from '../../gateway/store/migrations';
import { newOrderRow, getOrder, insertOrder } from '../../gateway/store/orders';
import { describeWith, freshPgSchema } from '../helpers/services';

/**
 * The store's statements run prepared on PostgreSQL: parsed once per connection. A migration that
 * changes a table under a prepared `select *` (run by another process of a rolling deploy) must not
 * break the statement for good.
 */

const order = (k: number) =>
  newOrderRow({
    organization_id: 'shop',
    external_id: `site-${k}`,
    number: `ЗК-${k}`,
    source: 'site',
    customer: JSON.stringify({ type: 'individual', name: 'Иван', email: 'ivan@example.ru' }),
    items: '[]',
    total: 100_000,
    payment_terms: JSON.stringify({ type: 'prepay' }),
    request_hash: 'h',
    onec_ref: null,
  });

/** The texts prepared on the connection a transaction of the store runs on. */
async function preparedHere(store: Store): Promise<string[]> {
  return store.db.transaction().execute(async (trx) => {
    await getOrder(trx, 'none');
    // many values (a bulk insert, a long IN list): its text changes with their number, not prepared
    const many = Array.from({ length: 100 }, (_, i) => `id-${i}`);
    await trx.selectFrom('orders').select('id').where('id', 'in', many).execute();
    const { rows } = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(trx);
    return rows.map((r) => r.statement);
  });
}

describeWith('postgres', 'prepared statements on PostgreSQL', () => {
  let schema: Awaited<ReturnType<typeof freshPgSchema>>;
  let admin: pg.Client;
  beforeEach(async () => {
    schema = await freshPgSchema();
    admin = new pg.Client({ connectionString: schema.url });
    await admin.connect();
  });
  afterEach(async () => {
    await admin.end();
    await schema.drop();
  });

  test('a statement with parameters is prepared on its connection; one without is not', async () => {
    const store = await openStore(schema.url);
    try {
      await migrateToLatest(store.db);
      const texts = await preparedHere(store);
      expect(texts).toContain('select * from "orders" where "id" = $1');
      expect(texts.some((t) => /^(begin|commit)$/i.test(t))).toBe(false);
      expect(texts.some((t) => t.includes('$100'))).toBe(false);
    } finally {
      await store.close();
    }
  });

  test('off in the configuration: nothing prepared', async () => {
    const store = await openStore(schema.url, { preparedStatements: false });
    try {
      await migrateToLatest(store.db);
      expect(await preparedHere(store)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  test('a column added by another process under a prepared select *: read again at once outside a transaction; inside one, the transaction fails once and the next works', async () => {
    const store = await openStore(schema.url);
    try {
      await migrateToLatest(store.db);
      const row = order(1);
      await insertOrder(store.db, row);
      // prepared on the connection(s) of the pool
      expect((await getOrder(store.db, row.id))!.id).toBe(row.id);
      await store.db.transaction().execute(async (trx) => void (await getOrder(trx, row.id)));

      await admin.query(`alter table "orders" add column "note_by_next_version" varchar(10)`);

      const read = (await getOrder(store.db, row.id)) as Record<string, unknown>;
      expect(read.id).toBe(row.id);
      expect(read).toHaveProperty('note_by_next_version', null);

      await admin.query(`alter table "orders" add column "another" integer`);
      const inTransaction = () => store.db.transaction().execute(async (trx) => (await getOrder(trx, row.id))!.id);
      // each connection that had it prepared refuses once inside a transaction; then it is prepared afresh
      const outcomes: string[] = [];
      for (let i = 0; i < 12; i++) outcomes.push(await inTransaction().catch((e: Error) => e.message));
      expect(outcomes.at(-1)).toBe(row.id);
      for (const o of outcomes) expect([row.id, 'cached plan must not change result type']).toContain(o);
      // nothing written by the failed transactions, nothing lost
      expect(Number((await admin.query('select count(*) as n from "orders"')).rows[0].n)).toBe(1);
    } finally {
      await store.close();
    }
  });
});
