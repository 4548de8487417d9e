import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../gateway/store/db';
import { nextInvoiceSeq } from '../../gateway/store/invoices';
import { migrateToLatest } from '../../gateway/store/migrations';
import { describeWith, freshPgSchema } from '../helpers/services';

/** The invoice series on SQLite and PostgreSQL: per organization and year, no number twice, a rolled-back one given again. */

function suite(open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>) {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await open());
    await migrateToLatest(store.db);
  });
  afterEach(() => cleanup());

  const next = (org: string, year: number) => store.db.transaction().execute((trx) => nextInvoiceSeq(trx, org, year));

  test('each organization and year counts from 1', async () => {
    expect([await next('shop', 2026), await next('shop', 2026), await next('other', 2026), await next('shop', 2027)]).toEqual([1, 2, 1, 1]);
  });

  test('fifty invoices at once, the first of the year among them: fifty different numbers, 1 to 50', async () => {
    const got = await Promise.all(Array.from({ length: 50 }, () => next('shop', 2026)));
    expect([...got].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  test('a number taken in a transaction that rolls back is given again', async () => {
    await next('shop', 2026);
    await expect(
      store.db.transaction().execute(async (trx) => {
        expect(await nextInvoiceSeq(trx, 'shop', 2026)).toBe(2);
        throw new Error('the invoice could not be recorded');
      }),
    ).rejects.toThrow('could not be recorded');
    expect(await next('shop', 2026)).toBe(2);
  });
}

describe('invoice series on SQLite', () =>
  suite(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'invoice-series-'));
    const store = await openStore(`sqlite:${join(dir, 'x.db')}`);
    return {
      store,
      cleanup: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }));

describeWith('postgres', 'invoice series on PostgreSQL', () =>
  suite(async () => {
    const schema = await freshPgSchema();
    const store = await openStore(schema.url);
    return {
      store,
      cleanup: async () => {
        await store.close();
        await schema.drop();
      },
    };
  }),
);
