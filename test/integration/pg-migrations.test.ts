import pg from 'pg';
import { openStore } from '../../gateway/store/db';
import { migrateToLatest, migrations } from '../../gateway/store/migrations';
import { describeWith, freshPgSchema, PG_URL } from '../helpers/services';

describeWith('postgres', 'migrations on PostgreSQL', () => {
  test('a neighbouring schema that already holds migration tables does not stop ours from being created', async () => {
    const neighbour = await freshPgSchema();
    const ours = await freshPgSchema();
    const a = await openStore(neighbour.url);
    const b = await openStore(ours.url);
    try {
      expect(await migrateToLatest(a.db)).toEqual(Object.keys(migrations));
      expect(await migrateToLatest(b.db)).toEqual(Object.keys(migrations));
      expect(await migrateToLatest(b.db)).toEqual([]);
    } finally {
      await a.close();
      await b.close();
      await neighbour.drop();
      await ours.drop();
    }
  });

  test('schemas created and dropped next door while ours migrate: every one still migrates', async () => {
    // Kysely's introspection read every schema's columns: one dropped at that moment failed the start with 3F000
    const churn = new pg.Client({ connectionString: PG_URL });
    await churn.connect();
    let stop = false;
    const churning = (async () => {
      for (let i = 0; !stop; i++) {
        const name = `churn_${process.pid}_${i}`;
        await churn.query(`create schema ${name}; create table ${name}.t (id serial primary key, v text)`);
        await churn.query(`drop schema ${name} cascade`);
      }
    })();
    const schemas = await Promise.all(Array.from({ length: 6 }, () => freshPgSchema()));
    try {
      for (let round = 0; round < 3; round++) {
        const stores = await Promise.all(schemas.map((s) => openStore(s.url)));
        try {
          const applied = await Promise.all(stores.map((st) => migrateToLatest(st.db)));
          for (const a of applied) expect(a).toEqual(round === 0 ? Object.keys(migrations) : []);
        } finally {
          await Promise.all(stores.map((st) => st.close()));
        }
      }
    } finally {
      stop = true;
      await churning;
      await churn.end();
      await Promise.all(schemas.map((s) => s.drop()));
    }
  });
});
