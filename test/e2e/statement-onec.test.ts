import type { ODataSink } from '../../connectors/onec-odata/sink';
import { newId } from '../../gateway/domain/ids';
import { readOneCStatement } from '../../gateway/flows/statements/from-onec';
import type { OneCPaymentDoc } from '../../gateway/ports';
import { importStatementIn1C } from '../emulators/onec/accountant';
import type { Configuration } from '../emulators/onec/metadata';
import {
  ADMIN_AUTH,
  eventually,
  orderBody,
  receiver,
  scheduleSettled,
  SITE_AUTH,
  startHarness,
  type Backend,
  type Harness,
} from '../helpers/harness';
import { describeWith } from '../helpers/services';
import { statementFile } from '../helpers/statement-file';

/**
 * The accountant imports the bank statements into 1C. The gateway reads 1C's bank receipts as a
 * statement: the invoice they name is paid (order, site), and 1C keeps the accountant's document as
 * the only one. A statement file line whose payment order 1C already holds adopts that document.
 */

const BANK = { name: 'ПАО Сбербанк', bic: '044525225', account: '40702810938000000001', correspondentAccount: '30101810400000000225' };
const buyer = { type: 'legal', name: 'ООО «Вектор»', inn: '7701234560', kpp: '770101001' };
const ru = (d: string) => d.split('-').reverse().join('.');

/** A statement as a bank exports it (windows-1251), one incoming payment order from the buyer. */
const statement = (p: { number: string; date: string; amount: string; purpose: string }): Buffer =>
  statementFile({ ...p, ...BANK, date: ru(p.date), payerInn: buyer.inn, payerName: buyer.name, payerKpp: buyer.kpp });

const BANK_DOC: Record<Configuration, string> = {
  ut11: 'Document_ПоступлениеБезналичныхДенежныхСредств',
  'ut11-legacy': 'Document_ПоступлениеБезналичныхДенежныхСредств',
  unf: 'Document_ПоступлениеНаСчет',
};

function accountantSuite(configuration: 'ut11' | 'unf', db: Backend = 'sqlite'): void {
  let h: Harness;
  let site: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    site = await receiver();
    h = await startHarness({
      db,
      onec: { configuration },
      siteWebhook: { url: site.url, secret: 'site-webhook-secret-1' },
      overrides: (raw) => {
        raw.exchange.bases = [];
        raw.organizations[0].payments.invoice = { bank: BANK, prefix: 'СЧ-', statementsFrom1C: { everySeconds: 3600 } };
      },
    });
    // the schedule's first read runs at start; the tests read by hand after it, never beside it
    await scheduleSettled(h, 'statements.onec');
  });
  afterAll(async () => {
    await h?.close();
    await site?.close();
  });

  const bankDocs = () => h.onec!.list(BANK_DOC[configuration]).filter((d) => d.DeletionMark !== true);

  async function invoiceOrder(tag: string) {
    const number = `${tag}-${Math.floor(Math.random() * 1e6)}`;
    const inBase = h.onec!.seedCustomerOrder({ number, total: 3500 });
    const order = (await h.call('POST', '/api/v1/orders', orderBody({ number, customer: buyer }), SITE_AUTH)).body;
    const payment = (
      await h.call(
        'POST',
        `/api/v1/orders/${order.id}/payments`,
        { method: 'invoice' },
        { ...SITE_AUTH, 'idempotency-key': `i-${order.id}` },
      )
    ).body;
    return { inBase, order, payment, invoice: payment.action.number as string, date: payment.action.date as string };
  }

  const paymentOf = async (id: string) => (await h.call('GET', `/api/v1/payments/${id}`, undefined, SITE_AUTH)).body;

  test('the accountant’s document pays the invoice; 1C keeps it as the only one; read again, nothing doubles', async () => {
    const { inBase, order, payment, invoice, date } = await invoiceOrder('O');
    const before = bankDocs().length;
    const imported = await importStatementIn1C(h.onec!, {
      number: '4417',
      date,
      amount: 3500,
      payer: buyer,
      purpose: `Оплата по счету № ${invoice} от ${ru(date)} за товар. В т.ч. НДС 22% - 631.15 руб.`,
      orderRef: String(inBase.Ref_Key),
    });

    expect(await readOneCStatement(h.gateway.deps, 'main')).toMatchObject({ seen: 1, stored: 1, matched: 1, paid: 1 });
    const paid = await paymentOf(payment.id);
    expect(paid.status).toBe('paid');
    expect(paid.onec).toMatchObject({ status: 'delivered' });
    const row = await h.gateway.store.db.selectFrom('payments').select(['onec_document']).where('id', '=', payment.id).executeTakeFirst();
    expect(row?.onec_document).toBe(imported.ref);
    expect((await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body).toMatchObject({
      status: 'paid',
      paidAmount: 350000,
    });
    await eventually(async () => site.received.some((r) => r.body.event === 'payment.paid' && r.body.payment.id === payment.id));

    // the jobs settle: no document of the gateway's own appears
    await new Promise((r) => setTimeout(r, 500));
    expect(bankDocs().length).toBe(before + 1);
    expect(bankDocs().map((d) => d.Ref_Key)).toContain(imported.ref);
    expect(h.onec!.snapshot().orders.find((o) => o.ref === inBase.Ref_Key)).toMatchObject({ paid: 3500 });

    // the schedule again: the same document is no new line, nothing is paid twice
    expect(await readOneCStatement(h.gateway.deps, 'main')).toMatchObject({ stored: 0, paid: 0 });
    await new Promise((r) => setTimeout(r, 300));
    expect(bankDocs().length).toBe(before + 1);
    expect((await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body.paidAmount).toBe(350000);
    expect(site.received.filter((r) => r.body.event === 'payment.paid' && r.body.payment.id === payment.id)).toHaveLength(1);
  });

  test('a statement file line whose payment order 1C already holds: the gateway adopts that document, one in 1C', async () => {
    const { inBase, payment, invoice, date } = await invoiceOrder('F');
    const imported = await importStatementIn1C(h.onec!, {
      number: '5120',
      date,
      amount: 3500,
      payer: buyer,
      purpose: `Оплата по счету ${invoice} от ${ru(date)}`,
      orderRef: String(inBase.Ref_Key),
    });
    const before = bankDocs().length;
    const upload = await fetch(`${h.url}/api/v1/admin/statements`, {
      method: 'POST',
      headers: { ...ADMIN_AUTH, 'content-type': 'application/octet-stream' },
      body: statement({ number: '5120', date, amount: '3500.00', purpose: `Оплата по счету ${invoice} от ${ru(date)}` }),
    });
    expect(await upload.json()).toMatchObject({ matched: 1, paid: 1 });
    await eventually(async () => (await paymentOf(payment.id)).onec?.status === 'delivered', 10_000);
    const row = await h.gateway.store.db.selectFrom('payments').select(['onec_document']).where('id', '=', payment.id).executeTakeFirst();
    expect(row?.onec_document).toBe(imported.ref);
    expect(bankDocs().length).toBe(before);

    // reading 1C afterwards: the adopted document is the same payment order, no line of its own
    expect(await readOneCStatement(h.gateway.deps, 'main')).toMatchObject({ stored: 0, paid: 0 });
    const lines = await h.gateway.store.db
      .selectFrom('statement_lines')
      .select(['source', 'number'])
      .where('number', '=', '5120')
      .execute();
    expect(lines).toEqual([{ source: 'client-bank-file', number: '5120' }]);
  });

  test('the gateway’s own bank receipt in 1C is no statement line: known by its ref, or by its marker before the ref is recorded', async () => {
    const { payment, invoice, date } = await invoiceOrder('G');
    const upload = await fetch(`${h.url}/api/v1/admin/statements`, {
      method: 'POST',
      headers: { ...ADMIN_AUTH, 'content-type': 'application/octet-stream' },
      body: statement({ number: '6001', date, amount: '3500.00', purpose: `Оплата по счету ${invoice} от ${ru(date)}` }),
    });
    expect(await upload.json()).toMatchObject({ paid: 1 });
    await eventually(async () => (await paymentOf(payment.id)).onec?.status === 'delivered', 10_000);
    const db = h.gateway.store.db;
    // as if the payment order had come some other way than a stored line
    await db.deleteFrom('statement_lines').where('number', '=', '6001').execute();
    const byRef = await readOneCStatement(h.gateway.deps, 'main');
    expect(byRef).toMatchObject({ stored: 0, paid: 0 });
    // the document written, its ref not recorded yet (the process stopped in between): the marker tells
    await db.updateTable('payments').set({ onec_document: null }).where('id', '=', payment.id).execute();
    const byMarker = await readOneCStatement(h.gateway.deps, 'main');
    expect(byMarker).toMatchObject({ stored: 0, paid: 0 });
    expect(byMarker!.own).toBeGreaterThanOrEqual(1);
    expect(
      await db.selectFrom('statement_lines').select('id').where('source', '=', 'onec').where('match_state', '=', 'review').execute(),
    ).toEqual([]);
  });

  test('read from 1C first, the same payment order in a statement file afterwards is not stored again (no review)', async () => {
    const { inBase, payment, invoice, date } = await invoiceOrder('R');
    await importStatementIn1C(h.onec!, {
      number: '9105',
      date,
      amount: 3500,
      payer: buyer,
      purpose: `Оплата по счету ${invoice}`,
      orderRef: String(inBase.Ref_Key),
    });
    expect(await readOneCStatement(h.gateway.deps, 'main')).toMatchObject({ stored: 1, paid: 1 });
    const before = bankDocs().length;
    const upload = await fetch(`${h.url}/api/v1/admin/statements`, {
      method: 'POST',
      headers: { ...ADMIN_AUTH, 'content-type': 'application/octet-stream' },
      body: statement({ number: '9105', date, amount: '3500.00', purpose: `Оплата по счету ${invoice} от ${ru(date)}` }),
    });
    expect(await upload.json()).toMatchObject({ seen: 1, stored: 0, paid: 0 });
    expect((await paymentOf(payment.id)).status).toBe('paid');
    const lines = await h.gateway.store.db
      .selectFrom('statement_lines')
      .select(['source', 'match_state'])
      .where('number', '=', '9105')
      .execute();
    expect(lines).toEqual([{ source: 'onec', match_state: 'matched' }]);
    await new Promise((r) => setTimeout(r, 300));
    expect(bankDocs().length).toBe(before);
  });

  test('one transfer for two invoices of the same amount: each gets a receipt of its own, neither adopts the other’s', async () => {
    // the orders' counterparty in 1C is the payer itself: its ИНН does not tell the two receipts apart
    const counterpartyRef = String(
      h.onec!.seed('Catalog_Контрагенты', {
        Description: buyer.name,
        ИНН: buyer.inn,
        КПП: buyer.kpp,
        ...(configuration === 'unf' ? {} : { Партнер_Key: h.onec!.refs.partner }),
      }).Ref_Key,
    );
    const make = async (tag: string) => {
      const number = `${tag}-${Math.floor(Math.random() * 1e6)}`;
      const inBase = h.onec!.seedCustomerOrder({ number, total: 1750, counterpartyRef });
      const body = orderBody({
        number,
        customer: buyer,
        items: [{ sku: 'kettle-01', name: 'Чайник электрический', quantity: 1, price: 175000, amount: 175000, vat: 'vat22' }],
        total: 175000,
      });
      const order = (await h.call('POST', '/api/v1/orders', body, SITE_AUTH)).body;
      const payment = (
        await h.call(
          'POST',
          `/api/v1/orders/${order.id}/payments`,
          { method: 'invoice' },
          { ...SITE_AUTH, 'idempotency-key': `t-${order.id}` },
        )
      ).body;
      return { inBase, payment };
    };
    const a = await make('TA');
    const b = await make('TB');
    const date = a.payment.action.date as string;
    const before = bankDocs().length;
    const upload = await fetch(`${h.url}/api/v1/admin/statements`, {
      method: 'POST',
      headers: { ...ADMIN_AUTH, 'content-type': 'application/octet-stream' },
      body: statement({
        number: '9300',
        date,
        amount: '3500.00',
        purpose: `Оплата по счетам № ${a.payment.action.number} и № ${b.payment.action.number} от ${ru(date)}`,
      }),
    });
    expect(await upload.json()).toMatchObject({ matched: 1, paid: 2 });
    for (const p of [a, b]) await eventually(async () => (await paymentOf(p.payment.id)).onec?.status === 'delivered', 10_000);
    const docs = [(await paymentOf(a.payment.id)).onec.document, (await paymentOf(b.payment.id)).onec.document];
    expect(new Set(docs).size).toBe(2);
    expect(bankDocs().length).toBe(before + 2);
    // a third share of the same payment order delivered later: the gateway's own receipts are no accountant's import
    const sink = h.gateway.deps.onec.sink('main') as unknown as ODataSink;
    const later = {
      kind: 'payment',
      method: 'invoice',
      marker: newId(),
      amount: 175000,
      providerRef: '9300',
      bankDate: date,
      customer: buyer,
    } as unknown as OneCPaymentDoc;
    expect(await sink.findImported(later, sink.spec(later))).toBeNull();
  });

  test('the accountant’s import not posted yet: nothing is written until it is posted, then it is adopted', async () => {
    const { inBase, payment, invoice, date } = await invoiceOrder('U');
    const imported = await importStatementIn1C(h.onec!, {
      number: '7003',
      date,
      amount: 3500,
      payer: buyer,
      purpose: `Оплата по счету ${invoice}`,
      orderRef: String(inBase.Ref_Key),
      posted: false,
    });
    const before = bankDocs().length;
    const upload = await fetch(`${h.url}/api/v1/admin/statements`, {
      method: 'POST',
      headers: { ...ADMIN_AUTH, 'content-type': 'application/octet-stream' },
      body: statement({ number: '7003', date, amount: '3500.00', purpose: `Оплата по счету ${invoice} от ${ru(date)}` }),
    });
    expect(await upload.json()).toMatchObject({ paid: 1 });
    const failed = await eventually(async () => {
      const p = await paymentOf(payment.id);
      return p.onec?.status === 'failed' && p;
    }, 10_000);
    expect(failed.onec.error).toContain('непроведённый документ');
    expect(failed.onec.error).toContain('7003');
    expect(bankDocs().length).toBe(before);

    h.onec!.store.post(BANK_DOC[configuration], imported.ref);
    const dead = (await h.call('GET', '/api/v1/admin/jobs?status=dead', undefined, ADMIN_AUTH)).body.items.find(
      (j: any) => j.payload?.paymentId === payment.id,
    );
    expect(dead).toBeDefined();
    expect((await h.call('POST', `/api/v1/admin/jobs/${dead.id}/retry`, undefined, ADMIN_AUTH)).status).toBe(200);
    await eventually(async () => (await paymentOf(payment.id)).onec?.status === 'delivered', 10_000);
    expect((await paymentOf(payment.id)).onec.document).toBe(imported.ref);
    expect(bankDocs().length).toBe(before);
  });

  test('the same number, date and amount from another payer is not this payment: the gateway writes its own', async () => {
    const { payment, invoice, date } = await invoiceOrder('P');
    const other = await importStatementIn1C(h.onec!, {
      number: '8004',
      date,
      amount: 3500,
      payer: { inn: '7736207543', kpp: '773601001', name: 'ООО «Другая»' },
      purpose: 'Оплата по договору 5',
    });
    const before = bankDocs().length;
    const upload = await fetch(`${h.url}/api/v1/admin/statements`, {
      method: 'POST',
      headers: { ...ADMIN_AUTH, 'content-type': 'application/octet-stream' },
      body: statement({ number: '8004', date, amount: '3500.00', purpose: `Оплата по счету ${invoice} от ${ru(date)}` }),
    });
    expect(await upload.json()).toMatchObject({ paid: 1 });
    await eventually(async () => (await paymentOf(payment.id)).onec?.status === 'delivered', 10_000);
    const doc = (await paymentOf(payment.id)).onec.document;
    expect(doc).not.toBe(other.ref);
    expect(bankDocs().length).toBe(before + 1);
  });
}

describe.each(['ut11', 'unf'] as const)('bank receipts the accountant imported into 1C (%s)', (configuration) =>
  accountantSuite(configuration),
);
describeWith('postgres', 'bank receipts the accountant imported into УТ 11.5, on PostgreSQL', () => accountantSuite('ut11', 'postgres'));
