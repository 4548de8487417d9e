import type { ODataClient, ODataObject, Query } from '../../../../connectors/onec-odata/client';
import { ODataContractSource } from '../../../../connectors/onec-odata/contracts';
import { ODataInvoiceSource } from '../../../../connectors/onec-odata/invoices';
import { loadMapping } from '../../../../connectors/onec-odata/mapping';
import { ODataOrderSource } from '../../../../connectors/onec-odata/orders';

/** 1C's invoices and contracts as OData sends them, turned into the gateway's terms (kopecks, dates, flags). */

class FakeClient {
  readonly queries: { entity: string; q: Query }[] = [];
  constructor(private readonly data: Record<string, ODataObject[]>) {}
  async get(entity: string, ref: string): Promise<ODataObject | null> {
    return this.data[entity]?.find((o) => o.Ref_Key === ref) ?? null;
  }
  async list(entity: string, q: Query = {}): Promise<ODataObject[]> {
    this.queries.push({ entity, q });
    return (this.data[entity] ?? []).slice(0, q.top ?? Infinity);
  }
}

const ORDER = '11111111-1111-4111-8111-111111111111';
const CP = '22222222-2222-4222-8222-222222222222';
const ITEM = '33333333-3333-4333-8333-333333333333';
const VAT = '44444444-4444-4444-8444-444444444444';
const INVOICE = '55555555-5555-4555-8555-555555555555';

const catalogs = {
  Catalog_Контрагенты: [{ Ref_Key: CP, Description: 'Вектор', НаименованиеПолное: 'ООО «Вектор»', ИНН: '7728168971', КПП: '772801001' }],
  Catalog_Номенклатура: [{ Ref_Key: ITEM, Description: 'Чайник электрический', Артикул: 'KT-100' }],
  Catalog_СтавкиНДС: [{ Ref_Key: VAT, Description: '22%', Ставка: 22 }],
};

function source(mapping: 'ut11' | 'unf', data: Record<string, ODataObject[]>) {
  const m = loadMapping(mapping);
  const client = new FakeClient({ ...catalogs, ...data }) as unknown as ODataClient;
  return { client: client as unknown as FakeClient, invoices: new ODataInvoiceSource(client, m, new ODataOrderSource(client, m)) };
}

describe('1C invoices (УТ 11.5 СчетНаОплатуКлиенту)', () => {
  const order = {
    Ref_Key: ORDER,
    Number: 'ЭК00-000017',
    Date: '2026-12-01T10:00:00',
    СуммаДокумента: 3500.5,
    Контрагент_Key: CP,
    Товары: [{ LineNumber: '1', Номенклатура_Key: ITEM, Количество: 2, Цена: 1750.25, Сумма: 3500.5, СтавкаНДС_Key: VAT, Отменено: false }],
  };
  const invoice = {
    Ref_Key: INVOICE,
    Number: 'ЭК00-000042',
    Date: '2026-12-02T15:30:00',
    Posted: true,
    DeletionMark: false,
    СуммаДокумента: 3500.5,
    Контрагент_Key: CP,
    ДокументОснование: ORDER,
    ДокументОснование_Type: 'StandardODATA.Document_ЗаказКлиента',
    Аннулирован: false,
    ИдентификаторПлатежа: '0419061212200ЭК0000042',
    ЭтапыГрафикаОплаты: [
      { LineNumber: '1', ДатаПлатежа: '2026-12-10T00:00:00', ПроцентПлатежа: 50, СуммаПлатежа: 1750.25 },
      { LineNumber: '2', ДатаПлатежа: '2026-12-24T00:00:00', ПроцентПлатежа: 50, СуммаПлатежа: 1750.25 },
    ],
  };

  test('number and date as 1C has them, the amount in kopecks, the due date of the last stage, the order’s lines and buyer', async () => {
    const { invoices } = source('ut11', { Document_ЗаказКлиента: [order], Document_СчетНаОплатуКлиенту: [invoice] });
    expect(await invoices.invoice(INVOICE)).toEqual({
      ref: INVOICE,
      number: 'ЭК00-000042',
      date: '2026-12-02',
      amount: 350050,
      dueDate: '2026-12-24',
      uip: '0419061212200ЭК0000042',
      annulled: false,
      gatewayInvoiceId: null,
      order: expect.objectContaining({
        ref: ORDER,
        number: 'ЭК00-000017',
        total: 350050,
        customer: { type: 'legal', name: 'ООО «Вектор»', inn: '7728168971', kpp: '772801001' },
        items: [{ sku: 'KT-100', name: 'Чайник электрический', quantity: 2, price: 175025, amount: 350050, vat: 'vat22' }],
      }),
    });
  });

  test('annulled, marked for deletion or unposted: annulled; no schedule: no due date; not based on an order: not taken', async () => {
    const base = { Document_ЗаказКлиента: [order] };
    const read = async (patch: Record<string, unknown>) =>
      source('ut11', { ...base, Document_СчетНаОплатуКлиенту: [{ ...invoice, ...patch }] }).invoices.invoice(INVOICE);
    expect((await read({ Аннулирован: true }))!.annulled).toBe(true);
    expect((await read({ DeletionMark: true }))!.annulled).toBe(true);
    expect((await read({ Posted: false }))!.annulled).toBe(true);
    expect((await read({ ЭтапыГрафикаОплаты: [] }))!.dueDate).toBeNull();
    expect((await read({ ИдентификаторПлатежа: '' }))!.uip).toBeNull();
    expect(await read({ ДокументОснование_Type: 'StandardODATA.Document_РеализацияТоваровУслуг' })).toBeNull();
    expect(await read({ ДокументОснование: '00000000-0000-0000-0000-000000000000' })).toBeNull();
  });

  test('the pull asks for posted, not annulled, not deleted invoices since the watermark (1C’s local time), oldest first', async () => {
    const { invoices, client } = source('ut11', { Document_ЗаказКлиента: [order], Document_СчетНаОплатуКлиенту: [invoice] });
    expect(await invoices.newInvoices('2026-12-01T21:00:00.000Z', { limit: 200, skip: 0 })).toHaveLength(1);
    expect(client.queries.find((q) => q.entity === 'Document_СчетНаОплатуКлиенту')!.q).toEqual({
      filter: "Date ge datetime'2026-12-02T00:00:00' and Posted eq true and DeletionMark eq false and Аннулирован eq false",
      orderby: 'Date,Ref_Key',
      top: 200,
      skip: 0,
    });
  });
});

describe('1C invoices (УНФ СчетНаОплату)', () => {
  test('its own goods (Запасы, Всего) and ПлатежныйКалендарь; no Аннулирован in УНФ', async () => {
    const order = {
      Ref_Key: ORDER,
      Number: 'ЭК00-000017',
      Date: '2026-12-01T10:00:00',
      СуммаДокумента: 9000,
      Контрагент_Key: CP,
      Запасы: [{ LineNumber: '1', Номенклатура: ITEM, Количество: 3, Цена: 3000, Сумма: 9000, СтавкаНДС_Key: VAT }],
    };
    const invoice = {
      Ref_Key: INVOICE,
      Number: 'ЭК00-000003',
      Date: '2026-12-02T09:00:00',
      Posted: true,
      DeletionMark: false,
      СуммаДокумента: 6000,
      Контрагент_Key: CP,
      ДокументОснование: ORDER,
      ДокументОснование_Type: 'StandardODATA.Document_ЗаказПокупателя',
      ИдентификаторПлатежа: '',
      Запасы: [{ LineNumber: '1', Номенклатура_Key: ITEM, Количество: 2, Цена: 3000, Сумма: 6000, Всего: 6000, СтавкаНДС_Key: VAT }],
      ПлатежныйКалендарь: [{ LineNumber: '1', ДатаОплаты: '2026-12-16T00:00:00', ПроцентОплаты: 100, СуммаОплаты: 6000 }],
    };
    const { invoices, client } = source('unf', { Document_ЗаказПокупателя: [order], Document_СчетНаОплату: [invoice] });
    const got = (await invoices.invoice(INVOICE))!;
    expect(got).toMatchObject({ number: 'ЭК00-000003', amount: 600000, dueDate: '2026-12-16', uip: null, annulled: false });
    expect(got.order).toMatchObject({
      ref: ORDER,
      total: 600000,
      items: [{ sku: 'KT-100', quantity: 2, price: 300000, amount: 600000, vat: 'vat22' }],
    });
    await invoices.newInvoices('2026-12-01T21:00:00.000Z', { limit: 10, skip: 0 });
    expect(client.queries.find((q) => q.entity === 'Document_СчетНаОплату')!.q.filter).toBe(
      "Date ge datetime'2026-12-02T00:00:00' and Posted eq true and DeletionMark eq false",
    );
  });
});

describe('buyers’ contracts', () => {
  const CONTRACT = '66666666-6666-4666-8666-666666666666';

  test('УТ 11.5: the limit only when ОграничиватьСуммуЗадолженности, the days only when УстановленСрокОплаты; the valid contract of the buyer found by ИНН and КПП', async () => {
    const contract = {
      Ref_Key: CONTRACT,
      Description: 'Договор поставки № 15',
      Контрагент_Key: CP,
      Статус: 'Действует',
      УстановленСрокОплаты: true,
      СрокОплаты: 30,
      ОграничиватьСуммуЗадолженности: true,
      ДопустимаяСуммаЗадолженности: 12000,
      ЗапрещаетсяПросроченнаяЗадолженность: true,
    };
    const read = async (patch: Record<string, unknown>) => {
      const client = new FakeClient({ ...catalogs, Catalog_ДоговорыКонтрагентов: [{ ...contract, ...patch }] });
      const terms = await new ODataContractSource(client as unknown as ODataClient, loadMapping('ut11')).termsOf({
        inn: '7728168971',
        kpp: '772801001',
      });
      return { terms, client };
    };
    const { terms, client } = await read({});
    expect(terms).toEqual({ contract: 'Договор поставки № 15', deferredDays: 30, creditLimit: 1_200_000, blockOverdue: true });
    expect(client.queries.map((q) => q.q.filter)).toEqual([
      "ИНН eq '7728168971' and DeletionMark eq false and КПП eq '772801001'",
      `Контрагент_Key eq guid'${CP}' and DeletionMark eq false and Статус eq 'Действует'`,
    ]);
    expect(client.queries[1].q).toMatchObject({ orderby: 'Дата desc', top: 1 });
    expect((await read({ ОграничиватьСуммуЗадолженности: false })).terms).toMatchObject({ creditLimit: null });
    expect((await read({ УстановленСрокОплаты: false })).terms).toMatchObject({ deferredDays: null });
    expect((await read({ ЗапрещаетсяПросроченнаяЗадолженность: false })).terms).toMatchObject({ blockOverdue: false });
  });

  test('УНФ: the contract owned by the buyer, its СрокОплатыПокупателя; no limit, no overdue attribute', async () => {
    const client = new FakeClient({
      ...catalogs,
      Catalog_ДоговорыКонтрагентов: [{ Ref_Key: CONTRACT, Description: 'Основной договор', Owner: CP, СрокОплатыПокупателя: 14 }],
    });
    const terms = await new ODataContractSource(client as unknown as ODataClient, loadMapping('unf')).termsOf({ inn: '7728168971' });
    expect(terms).toEqual({ contract: 'Основной договор', deferredDays: 14, creditLimit: null, blockOverdue: null });
    expect(client.queries[1].q.filter).toBe(
      `Owner eq cast(guid'${CP}','Catalog_Контрагенты') and DeletionMark eq false and Недействителен eq false`,
    );
  });

  test('no such buyer in 1C: no terms', async () => {
    const client = new FakeClient({});
    expect(await new ODataContractSource(client as unknown as ODataClient, loadMapping('ut11')).termsOf({ inn: '7728168971' })).toBeNull();
  });
});
