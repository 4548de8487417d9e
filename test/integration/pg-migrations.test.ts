import { openStore } from '../../gateway/store/db';
import { migrateToLatest, migrations } from '../../gateway/store/migrations';
import { describeWith, freshPgSchema } from '../helpers/services';

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
});
