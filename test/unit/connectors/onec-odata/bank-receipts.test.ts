import { OneCBankReceiptSource } from '../../../../connectors/onec-odata/bank-receipts';
import type { ODataClient, Query } from '../../../../connectors/onec-odata/client';
import { loadMapping } from '../../../../connectors/onec-odata/mapping';
import { markerIdOf, markerValue, writtenByGateway } from '../../../../connectors/onec-odata/sink';
import { newId } from '../../../../gateway/domain/ids';

const PAYER = '11111111-2222-4333-8444-555555555555';
const ACCOUNT = '66666666-7777-4888-8999-000000000000';

/** A base answering list() from `docs` (paged as 1C pages) and get() from `catalog`, recording every call. */
function fakeBase(docs: Record<string, unknown>[], catalog: Record<string, Record<string, unknown>>) {
  const lists: { set: string; q: Query }[] = [];
  const gets: { set: string; ref: string }[] = [];
  const client = {
    async list(set: string, q: Query = {}) {
      lists.push({ set, q });
      return docs.slice(q.skip ?? 0, (q.skip ?? 0) + (q.top ?? docs.length));
    },
    async get(set: string, ref: string) {
      gets.push({ set, ref });
      return catalog[`${set}/${ref}`] ?? null;
    },
  } as unknown as ODataClient;
  return { client, lists, gets };
}

const utDoc = (o: Record<string, unknown>) => ({
  Ref_Key: newId(),
  Number: 'ЭК00-000001',
  Date: '2026-12-03T10:15:00',
  СуммаДокумента: 3500.5,
  ИдентификаторДокумента: '0b6f1a52-3c1e-4c8e-9a55-6e9f8d7c6b5a',
  НомерВходящегоДокумента: '512',
  ДатаВходящегоДокумента: '2026-12-02T00:00:00',
  Контрагент_Key: PAYER,
  НазначениеПлатежа: 'Оплата по счету СЧ-7 от 01.12.2026',
  ИдентификаторПлатежа: '',
  БанковскийСчет_Key: ACCOUNT,
  ...o,
});

describe("1C's bank receipts as a statement source", () => {
  const ut = loadMapping('ut11');
  const catalog = {
    [`Catalog_Контрагенты/${PAYER}`]: {
      Description: 'Вектор',
      НаименованиеПолное: 'ООО «Вектор»',
      ИНН: '7701234560',
      КПП: '770101001',
    },
    [`Catalog_БанковскиеСчетаОрганизаций/${ACCOUNT}`]: { НомерСчета: '40702810938000000001' },
  };

  test('УТ 11.5: a posted ПоступлениеБезналичныхДенежныхСредств becomes a canonical incoming line with the document', async () => {
    const doc = utDoc({ ИдентификаторПлатежа: 'СЧ2612000000000070005' });
    const { client, lists } = fakeBase([doc], catalog);
    const batch = await new OneCBankReceiptSource(client, ut).incomingSince('2026-12-01T09:00:00');
    expect(batch.lines).toEqual([
      {
        account: '40702810938000000001',
        direction: 'incoming',
        kind: 'Платежное поручение',
        number: '512',
        date: '2026-12-02',
        amount: 350050,
        bankDate: '2026-12-03',
        payer: { name: 'ООО «Вектор»', inn: '7701234560', kpp: '770101001', account: null, bankBik: null, bankName: null },
        receiver: { name: '', inn: null, kpp: null, account: null, bankBik: null, bankName: null },
        purpose: 'Оплата по счету СЧ-7 от 01.12.2026',
        uip: 'СЧ2612000000000070005',
        onec: { ref: doc.Ref_Key, number: 'ЭК00-000001', markerId: '0b6f1a52-3c1e-4c8e-9a55-6e9f8d7c6b5a' },
      },
    ]);
    expect(batch.cursor).toBe('2026-12-03T10:15:00');
    expect(lists[0].set).toBe('Document_ПоступлениеБезналичныхДенежныхСредств');
    // posted, not deleted, customers' payments only, from three days before the cursor
    expect(lists[0].q.filter).toBe(
      "Posted eq true and DeletionMark eq false and Date ge datetime'2026-11-28T00:00:00' and ХозяйственнаяОперация eq 'ПоступлениеОплатыОтКлиента'",
    );
    expect(lists[0].q.orderby).toBe('Date asc,Ref_Key asc');
  });

  test('pages through 1C with $top/$skip; each counterparty and account is read once', async () => {
    const docs = [1, 2, 3, 4, 5].map((i) => utDoc({ НомерВходящегоДокумента: String(i), Date: `2026-12-0${i}T12:00:00` }));
    const { client, lists, gets } = fakeBase(docs, catalog);
    const batch = await new OneCBankReceiptSource(client, ut, { pageSize: 2 }).incomingSince('2026-12-01T00:00:00');
    expect(batch.lines.map((l) => l.number)).toEqual(['1', '2', '3', '4', '5']);
    expect(lists.map((l) => [l.q.top, l.q.skip])).toEqual([
      [2, 0],
      [2, 2],
      [2, 4],
    ]);
    expect(gets).toHaveLength(2);
    expect(batch.cursor).toBe('2026-12-05T12:00:00');
  });

  test('the first read goes firstDays + overlapDays back from today; nothing read keeps the start as the cursor', async () => {
    const { client, lists } = fakeBase([], catalog);
    const src = new OneCBankReceiptSource(client, ut, { firstDays: 2, overlapDays: 1, now: () => new Date('2026-12-04T09:00:00Z') });
    const batch = await src.incomingSince(null);
    expect(lists[0].q.filter).toContain("Date ge datetime'2026-12-01T00:00:00'");
    expect(batch).toEqual({ lines: [], cursor: '2026-12-02' });
  });

  test('УНФ: the gateway’s own ПоступлениеНаСчет keeps its marker where the payment order’s number goes; the accountant’s has the number', async () => {
    const unf = loadMapping('unf');
    const paymentId = newId();
    const own = {
      Ref_Key: newId(),
      Number: 'ЭК00-000007',
      Date: '2026-12-03T11:00:00',
      СуммаДокумента: 3500,
      НомерВходящегоДокумента: markerValue(paymentId, 20),
      ДатаВходящегоДокумента: '0001-01-01T00:00:00',
      Контрагент_Key: PAYER,
      НазначениеПлатежа: '',
      БанковскийСчет_Key: ACCOUNT,
    };
    const theirs = {
      ...own,
      Ref_Key: newId(),
      Number: 'ЭК00-000008',
      НомерВходящегоДокумента: '512',
      ДатаВходящегоДокумента: '2026-12-02T00:00:00',
    };
    const { client, lists } = fakeBase([own, theirs], {
      [`Catalog_Контрагенты/${PAYER}`]: { Description: 'ООО «Вектор»', ИНН: '7701234560', КПП: '' },
      [`Catalog_БанковскиеСчета/${ACCOUNT}`]: { НомерСчета: '40702810900000000001' },
    });
    const batch = await new OneCBankReceiptSource(client, unf).incomingSince('2026-12-03T00:00:00');
    expect(lists[0].q.filter).toContain("ВидОперации eq 'ОтПокупателя'");
    const [a, b] = batch.lines;
    expect(paymentId.startsWith(a.onec!.markerId!)).toBe(true);
    expect(a.onec!.markerId!.length).toBeGreaterThanOrEqual(30);
    expect(a).toMatchObject({ number: 'ЭК00-000007', date: '2026-12-03', uip: null });
    expect(b).toMatchObject({
      number: '512',
      date: '2026-12-02',
      account: '40702810900000000001',
      payer: { name: 'ООО «Вектор»', inn: '7701234560', kpp: null },
      onec: { number: 'ЭК00-000008', markerId: null },
    });
  });

  test('markerIdOf undoes markerValue: the whole id where it fits, its leading characters where only bytes fit', () => {
    const id = newId();
    expect(markerIdOf(markerValue(id, 36), 36)).toBe(id);
    for (const len of [16, 20, 22, 30]) expect(id.startsWith(markerIdOf(markerValue(id, len), len)!)).toBe(true);
    expect(markerIdOf('512', 20)).toBeNull();
    expect(markerIdOf('', 36)).toBeNull();
  });
});

test('writtenByGateway: the gateway’s ids (UUID v7) in a marker field, whole or as bytes; 1C’s own UUIDs (v4) and numbers are not', () => {
  const id = newId();
  expect(writtenByGateway(markerValue(id, 36), 36)).toBe(true);
  expect(writtenByGateway(markerValue(id, 20), 20)).toBe(true);
  expect(writtenByGateway('0b6f1a52-3c1e-4c8e-9a55-6e9f8d7c6b5a', 36)).toBe(false);
  expect(writtenByGateway('512', 20)).toBe(false);
});
