import { ClientBankFileSource } from '../../connectors/client-bank/source';
import { ExternalError } from '../../gateway/ports';
import { UIP_PREFIX, uipOf } from '../../gateway/domain/uip';
import { createOneCInvoiceJob } from '../../gateway/flows/onec/invoice-create';
import { pullInvoices } from '../../gateway/flows/onec/invoices';
import { matchAndApply } from '../../gateway/flows/statements/apply';
import { ingestStatement } from '../../gateway/flows/statements/ingest';
import { OneCManager, type Buyer } from '../emulators/onec/manager';
import type { Configuration } from '../emulators/onec/metadata';
import { alerts } from '../helpers/fiscal';
import { eventually, orderBody, scheduleSettled, SITE_AUTH, startHarness, type Harness } from '../helpers/harness';
import { statementFile } from '../helpers/statement-file';

/**
 * Invoices a manager makes in 1C (УТ СчетНаОплатуКлиенту, УНФ СчетНаОплату) are pulled, listed for the
 * buyer's B2B cabinet with 1C's own number, printed, and paid by a bank statement line naming them (one
 * bank document in 1C). A buyer's terms come from its 1C contract when the site gives none. An invoice
 * annulled in 1C is not paid by a line naming it afterwards: the line goes to review.
 */

const BANK = { name: 'ПАО Сбербанк', bic: '044525225', account: '40702810938000000001', correspondentAccount: '30101810400000000225' };
const ru = (d: string) => d.split('-').reverse().join('.');

let statementNo = 700;

/** A statement as a bank exports it for 1C (windows-1251): one incoming payment order, numbered in turn. */
const statement = (p: { date: string; amount: string; purpose: string; payerInn: string; payerName: string; code?: string }): Buffer =>
  statementFile({ ...p, ...BANK, number: String(++statementNo) });

const BANK_DOC: Record<Configuration, string> = {
  ut11: 'Document_ПоступлениеБезналичныхДенежныхСредств',
  'ut11-legacy': 'Document_ПоступлениеБезналичныхДенежныхСредств',
  unf: 'Document_ПоступлениеНаСчет',
};

describe.each<Configuration>(['ut11', 'unf'])('invoices made in 1C (%s)', (configuration) => {
  let h: Harness;
  let m: OneCManager;
  beforeAll(async () => {
    h = await startHarness({
      onec: { configuration, pull: true },
      overrides: (raw) => {
        raw.exchange.bases = [];
        raw.organizations[0].payments.invoice = { bank: BANK, prefix: 'СЧ-' };
      },
    });
    m = new OneCManager(h.onec!);
    await scheduleSettled(h, 'onec.pull-invoices');
  });
  afterAll(() => h?.close());

  /** A manager's order for the buyer in 1C (posted), and the invoice for it. */
  async function orderAndInvoice(
    buyer: Buyer,
    number: string,
    rubles: number,
    opts: { dueDate?: string; contract?: string; uip?: string } = {},
  ) {
    const contract = opts.contract ?? (configuration === 'unf' ? await m.contract(buyer, {}) : undefined);
    const order = h.onec!.seedCustomerOrder({
      number,
      total: rubles,
      counterpartyRef: buyer.counterparty,
      partnerRef: buyer.partner,
      ...(contract ? { contractRef: contract } : {}),
      paymentForm: 'Безналичная',
    });
    const invoice = await m.invoice({
      orderRef: String(order.Ref_Key),
      buyer,
      contract,
      amount: rubles,
      dueDate: opts.dueDate,
      uip: opts.uip,
    });
    return { order, invoice };
  }

  const list = async (inn: string) => (await h.call('GET', `/api/v1/customers/${inn}/invoices`, undefined, SITE_AUTH)).body;

  test('a manager’s invoice is pulled, listed with 1C’s number, printed, and paid by a statement line naming it: one bank document in 1C', async () => {
    const inn = '7728168971';
    const buyer = await m.buyer({ name: 'ООО «Вектор»', inn, kpp: '772801001' });
    // due in two weeks from whenever the test runs: open, not overdue
    const dueDate = new Date(Date.now() + 14 * 86_400_000).toISOString().slice(0, 10);
    const { order, invoice } = await orderAndInvoice(buyer, 'ЗК-000201', 3500, { dueDate });

    // picked up (by this pull, or the schedule's first run if it came later than the invoice)
    await pullInvoices(h.gateway.deps, 'main');
    // the same invoice again changes nothing
    expect(await pullInvoices(h.gateway.deps, 'main')).toEqual({ created: 0, updated: 0, annulled: 0 });

    const body = await list(inn);
    expect(body.invoices).toEqual([
      expect.objectContaining({
        number: invoice.Number,
        date: String(invoice.Date).slice(0, 10),
        amount: 350000,
        paid: 0,
        dueDate,
        state: 'open',
        source: 'onec',
        orderNumber: 'ЗК-000201',
      }),
    ]);
    const [listed] = body.invoices;
    expect(listed.payUrl).toMatch(new RegExp(`^${h.url}/pay/`));
    expect((await h.call('GET', `/api/v1/orders/${listed.orderId}`, undefined, SITE_AUTH)).body).toMatchObject({
      source: 'onec',
      onecRef: order.Ref_Key,
      total: 350000,
    });

    const pdf = await fetch(listed.document);
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toMatch(/^application\/pdf/);
    expect(
      Buffer.from(await pdf.arrayBuffer())
        .subarray(0, 5)
        .toString(),
    ).toBe('%PDF-');

    const date = String(invoice.Date).slice(0, 10);
    const file = statement({
      date: ru(date),
      amount: '3500.00',
      purpose: `Оплата по счету № ${invoice.Number} от ${ru(date)} за товар. В т.ч. НДС 22% - 631.15 руб.`,
      payerInn: inn,
      payerName: 'ООО «Вектор»',
    });
    expect(await ingestStatement(h.gateway.deps, 'main', new ClientBankFileSource(file))).toMatchObject({ stored: 1 });
    expect(await matchAndApply(h.gateway.deps, 'main')).toMatchObject({ lines: 1, matched: 1, review: 0, paid: 1 });

    const delivered = async () => (await h.call('GET', `/api/v1/payments/${listed.paymentId}`, undefined, SITE_AUTH)).body.onec?.status;
    await eventually(async () => (await delivered()) === 'delivered', 50_000);
    const docs = h.onec!.paymentDocuments().filter((d) => d.settles?.orderRef === order.Ref_Key);
    expect(docs).toEqual([expect.objectContaining({ entity: BANK_DOC[configuration], posted: true, amount: 3500 })]);
    expect((await list(inn)).invoices).toEqual([
      expect.objectContaining({ number: invoice.Number, state: 'paid', paid: 350000, payUrl: null }),
    ]);
  }, 60_000);

  test('annulled in 1C, then paid: the line naming it goes to review with the reason and an alert, nothing is paid', async () => {
    const inn = '7702070139';
    const buyer = await m.buyer({ name: 'ООО «Полюс»', inn, kpp: '770201001' });
    const { order, invoice } = await orderAndInvoice(buyer, 'ЗК-000301', 1200);
    expect(await pullInvoices(h.gateway.deps, 'main')).toMatchObject({ created: 1 });
    const [listed] = (await list(inn)).invoices;

    await m.annul(String(invoice.Ref_Key));
    expect(await pullInvoices(h.gateway.deps, 'main')).toEqual({ created: 0, updated: 0, annulled: 1 });
    expect(await pullInvoices(h.gateway.deps, 'main')).toEqual({ created: 0, updated: 0, annulled: 0 });
    expect((await list(inn)).invoices).toEqual([expect.objectContaining({ number: invoice.Number, state: 'annulled', payUrl: null })]);
    expect((await h.call('GET', `/api/v1/payments/${listed.paymentId}`, undefined, SITE_AUTH)).body.status).toBe('cancelled');

    const date = String(invoice.Date).slice(0, 10);
    const file = statement({
      date: ru(date),
      amount: '1200.00',
      purpose: `Оплата по счету ${invoice.Number} от ${ru(date)}, без НДС`,
      payerInn: inn,
      payerName: 'ООО «Полюс»',
    });
    await ingestStatement(h.gateway.deps, 'main', new ClientBankFileSource(file));
    expect(await matchAndApply(h.gateway.deps, 'main')).toMatchObject({ matched: 0, review: 1, paid: 0, parts: 0 });

    const line = await h.gateway.store.db
      .selectFrom('statement_lines')
      .selectAll()
      .where('purpose', 'like', `%${invoice.Number}%`)
      .executeTakeFirstOrThrow();
    expect(line.match_state).toBe('review');
    expect(line.match_note).toContain(`счёт № ${invoice.Number} от ${ru(date)} аннулирован`);
    const alert = (await alerts(h)).find((a) => a.key === `statement-annulled:main:${line.id}`);
    expect(alert).toMatchObject({ title: 'Оплата по аннулированному счёту' });
    expect(alert!.text).toContain(`счёт № ${invoice.Number}`);

    // nothing paid: not the payment, not the order, no bank document in 1C
    expect((await h.call('GET', `/api/v1/payments/${listed.paymentId}`, undefined, SITE_AUTH)).body.status).toBe('cancelled');
    expect((await h.call('GET', `/api/v1/orders/${listed.orderId}`, undefined, SITE_AUTH)).body.paidAmount).toBe(0);
    expect(h.onec!.paymentDocuments().filter((d) => d.settles?.orderRef === order.Ref_Key)).toEqual([]);
  });

  test('the 1C invoice’s УИП (ИдентификаторПлатежа) in the payment order’s «Код» pays it, whatever the purpose says', async () => {
    const inn = '7704217370';
    const buyer = await m.buyer({ name: 'ООО «Венера»', inn });
    const today = new Date().toISOString().slice(0, 10);
    const uip = uipOf(UIP_PREFIX.invoice, today, `ЭК00-9${configuration === 'unf' ? 1 : 2}`);
    const { invoice } = await orderAndInvoice(buyer, 'ЗК-000701', 777, { uip });
    expect(await pullInvoices(h.gateway.deps, 'main')).toMatchObject({ created: 1 });
    const [listed] = (await list(inn)).invoices;
    expect(listed).toMatchObject({ number: invoice.Number, state: 'open' });
    const file = statement({
      date: ru(today),
      amount: '777.00',
      purpose: 'Оплата за товар',
      payerInn: inn,
      payerName: 'ООО «Венера»',
      code: uip,
    });
    await ingestStatement(h.gateway.deps, 'main', new ClientBankFileSource(file));
    expect(await matchAndApply(h.gateway.deps, 'main')).toMatchObject({ matched: 1, paid: 1 });
    expect((await h.call('GET', `/api/v1/payments/${listed.paymentId}`, undefined, SITE_AUTH)).body.status).toBe('paid');
  });

  test('an invoice changed in 1C (its amount) is taken while still to be paid', async () => {
    const inn = '7710140679';
    const buyer = await m.buyer({ name: 'ООО «Марс»', inn });
    const { invoice } = await orderAndInvoice(buyer, 'ЗК-000401', 5000);
    expect(await pullInvoices(h.gateway.deps, 'main')).toMatchObject({ created: 1 });
    const set = configuration === 'unf' ? 'Document_СчетНаОплату' : 'Document_СчетНаОплатуКлиенту';
    await m.patch(set, String(invoice.Ref_Key), { СуммаДокумента: 4500 });
    expect(await pullInvoices(h.gateway.deps, 'main')).toEqual({ created: 0, updated: 1, annulled: 0 });
    const [listed] = (await list(inn)).invoices;
    expect(listed).toMatchObject({ number: invoice.Number, amount: 450000, state: 'open' });
    expect((await h.call('GET', `/api/v1/payments/${listed.paymentId}`, undefined, SITE_AUTH)).body).toMatchObject({
      status: 'pending',
      amount: 450000,
    });
  });

  const siteOrder = (customer: Record<string, string>, rubles: number, extra: Record<string, unknown> = {}) =>
    orderBody({
      customer: { type: 'legal', ...customer },
      items: [{ sku: 'kettle-01', name: 'Чайник электрический', quantity: 1, price: rubles * 100, amount: rubles * 100, vat: 'vat22' }],
      total: rubles * 100,
      ...extra,
    });
  const orderCount = async () =>
    Number(
      (
        await h.gateway.store.db
          .selectFrom('orders')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  test('terms from the buyer’s 1C contract: its deferral; over its credit limit a 422 with the reason and nothing created', async () => {
    const customer = { name: 'ООО «Сатурн»', inn: '7813045547', kpp: '781301001' };
    const buyer = await m.buyer(customer);
    await m.contract(buyer, { deferredDays: 30, creditLimit: 12_000, blockOverdue: true });

    const within = await h.call('POST', '/api/v1/orders', siteOrder(customer, 3500), SITE_AUTH);
    expect(within.status).toBe(201);
    expect(within.body.paymentTerms).toEqual({ type: 'deferred', days: 30, from: 'shipment' });

    const before = await orderCount();
    const over = await h.call('POST', '/api/v1/orders', siteOrder(customer, 15_000), SITE_AUTH);
    if (configuration === 'unf') {
      // УНФ's contract has no credit limit
      expect(over.status).toBe(201);
      expect(over.body.paymentTerms).toEqual({ type: 'deferred', days: 30, from: 'shipment' });
      return;
    }
    expect(over.status).toBe(422);
    expect(over.body.error).toMatchObject({
      code: 'credit_limit_exceeded',
      message: 'Превышен кредитный лимит: доступно 8\u00a0500,00\u00a0₽',
    });
    expect(await orderCount()).toBe(before);

    // the site’s own terms still win: prepay asks 1C nothing and is never refused
    const prepay = await h.call('POST', '/api/v1/orders', siteOrder(customer, 15_000, { paymentTerms: { type: 'prepay' } }), SITE_AUTH);
    expect(prepay.status).toBe(201);
  });

  test('a buyer whose 1C invoice is overdue gets no new deferred order: 422 naming the invoice, nothing created', async () => {
    const customer = { name: 'ООО «Юпитер»', inn: '7707083893', kpp: '770701001' };
    const buyer = await m.buyer(customer);
    const contract = await m.contract(buyer, { deferredDays: 14, blockOverdue: true });
    const { invoice } = await orderAndInvoice(buyer, 'ЗК-000501', 2000, { dueDate: '2026-11-02', contract });
    expect(await pullInvoices(h.gateway.deps, 'main')).toMatchObject({ created: 1 });
    expect((await list(customer.inn)).invoices).toEqual([expect.objectContaining({ number: invoice.Number, state: 'overdue' })]);

    const before = await orderCount();
    const refused = await h.call('POST', '/api/v1/orders', siteOrder(customer, 1000), SITE_AUTH);
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('overdue_debt');
    expect(refused.body.error.message).toContain(`счёт ${invoice.Number} от ${ru(String(invoice.Date).slice(0, 10))}`);
    expect(refused.body.error.message).toContain('срок оплаты 02.11.2026');
    expect(await orderCount()).toBe(before);
  });

  test('1C unreachable: the gateway’s own terms apply (prepay), with a warning in the log', async () => {
    const customer = { name: 'ООО «Нептун»', inn: '7728168971', kpp: '772801002' };
    h.onec!.setKnobs({ down: true });
    try {
      const res = await h.call('POST', '/api/v1/orders', siteOrder(customer, 1000), SITE_AUTH);
      expect(res.status).toBe(201);
      expect(res.body.paymentTerms).toEqual({ type: 'prepay' });
    } finally {
      h.onec!.setKnobs({ down: false });
    }
    expect(h.logs.some((l) => l.includes('the buyer’s contract could not be read from 1C'))).toBe(true);
  });
});

describe('a site order’s invoice made in 1C too (УТ, onec.invoices.create, 1C numbers invoices)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      onec: { configuration: 'ut11', pull: true },
      overrides: (raw) => {
        raw.exchange.bases = [];
        raw.organizations[0].payments.invoice = { bank: BANK, prefix: 'СЧ-' };
        raw.organizations[0].onec.invoices = { create: true, numberedBy: 'onec' };
      },
    });
    await scheduleSettled(h, 'onec.pull-invoices');
  });
  afterAll(() => h?.close());

  test('one posted СчетНаОплатуКлиенту based on the order; the gateway’s invoice takes its number; made again or pulled, still one', async () => {
    const customer = { type: 'legal', name: 'ООО «Вектор»', inn: '7728168971', kpp: '772801001' };
    const number = 'ЗК-000601';
    const inBase = h.onec!.seedCustomerOrder({ number, total: 3500, paymentForm: 'Безналичная' });
    const order = (await h.call('POST', '/api/v1/orders', orderBodyFor(number, customer), SITE_AUTH)).body;
    const payment = (
      await h.call(
        'POST',
        `/api/v1/orders/${order.id}/payments`,
        { method: 'invoice' },
        { ...SITE_AUTH, 'idempotency-key': `c-${order.id}` },
      )
    ).body;
    expect(payment.action.number).toMatch(/^СЧ-\d+$/);

    const inOneC = () => h.onec!.list('Document_СчетНаОплатуКлиенту').filter((d) => d.ДокументОснование === inBase.Ref_Key);
    await eventually(async () => inOneC().length === 1 && inOneC()[0].Posted === true, 10_000);
    const [made] = inOneC();
    expect(made).toMatchObject({
      ДокументОснование_Type: 'StandardODATA.Document_ЗаказКлиента',
      СуммаДокумента: 3500,
      Контрагент_Key: h.onec!.refs.counterparty,
      ФормаОплаты: 'Безналичная',
      ЭтапыГрафикаОплаты: [expect.objectContaining({ ПроцентПлатежа: 100, СуммаПлатежа: 3500 })],
    });
    const invoice = await eventually(async () => {
      const row = await h.gateway.store.db.selectFrom('invoices').selectAll().where('payment_id', '=', payment.id).executeTakeFirst();
      return row?.onec_ref ? row : null;
    });
    expect(invoice).toMatchObject({ onec_ref: made.Ref_Key, number: made.Number });
    expect((await h.call('GET', `/api/v1/payments/${payment.id}`, undefined, SITE_AUTH)).body.status).toBe('pending');

    // the job again after the link was lost: the marker finds the same 1C invoice
    await h.gateway.store.db.updateTable('invoices').set({ onec_ref: null }).where('id', '=', invoice.id).execute();
    await createOneCInvoiceJob.handler(h.gateway.deps, { invoiceId: invoice.id }, {} as never);
    expect(inOneC()).toHaveLength(1);
    // the pull sees the gateway's own invoice in 1C: nothing new
    expect(await pullInvoices(h.gateway.deps, 'main')).toEqual({ created: 0, updated: 0, annulled: 0 });
    expect((await list(customer.inn)).invoices).toEqual([
      expect.objectContaining({ number: made.Number, source: 'gateway', state: 'open' }),
    ]);
  });

  test('the order not in 1C yet: the invoice waits for it (tried again, not given up), then is made once', async () => {
    const number = 'ЗК-000602';
    const order = (
      await h.call('POST', '/api/v1/orders', orderBodyFor(number, { type: 'legal', name: 'ООО «Вектор»', inn: '7728168971' }), SITE_AUTH)
    ).body;
    const payment = (
      await h.call(
        'POST',
        `/api/v1/orders/${order.id}/payments`,
        { method: 'invoice' },
        { ...SITE_AUTH, 'idempotency-key': `w-${order.id}` },
      )
    ).body;
    const invoice = (await h.gateway.store.db.selectFrom('invoices').selectAll().where('payment_id', '=', payment.id).executeTakeFirst())!;
    const error = await createOneCInvoiceJob.handler(h.gateway.deps, { invoiceId: invoice.id }, {} as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/waits for its order in 1C/);
    expect(error).not.toBeInstanceOf(ExternalError);
    expect(h.onec!.list('Document_СчетНаОплатуКлиенту').filter((d) => String(d.Комментарий).includes(invoice.id))).toEqual([]);

    const inBase = h.onec!.seedCustomerOrder({ number, total: 3500, paymentForm: 'Безналичная' });
    await createOneCInvoiceJob.handler(h.gateway.deps, { invoiceId: invoice.id }, {} as never);
    expect(h.onec!.list('Document_СчетНаОплатуКлиенту').filter((d) => d.ДокументОснование === inBase.Ref_Key)).toEqual([
      expect.objectContaining({ Posted: true, СуммаДокумента: 3500 }),
    ]);
  });

  const list = async (inn: string) => (await h.call('GET', `/api/v1/customers/${inn}/invoices`, undefined, SITE_AUTH)).body;
  const orderBodyFor = (number: string, customer: Record<string, string>) => orderBody({ number, customer });
});
