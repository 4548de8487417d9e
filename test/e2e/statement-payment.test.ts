import { ClientBankFileSource } from '../../connectors/client-bank/source';
import { UIP_PREFIX, uipOf } from '../../gateway/domain/uip';
import { applyMatchedLines, matchAndApply } from '../../gateway/flows/statements/apply';
import { matchStoredLines } from '../../gateway/flows/statements/match';
import { alerts } from '../helpers/fiscal';
import { statementFile, type StatementFileInput } from '../helpers/statement-file';
import { ingestStatement } from '../../gateway/flows/statements/ingest';
import { ADMIN_AUTH, eventually, orderBody, receiver, SITE_AUTH, startHarness, type Harness } from '../helpers/harness';

/** A company's bank transfer in a 1CClientBankExchange statement pays its invoice: matched, the payment paid once, the order paid. */

const BANK = { name: 'ПАО Сбербанк', bic: '044525225', account: '40702810938000000001', correspondentAccount: '30101810400000000225' };
const buyer = { type: 'legal', name: 'ООО «Вектор»', inn: '7701234560', kpp: '770101001' };
const ru = (d: string) => d.split('-').reverse().join('.');

const statement = (p: Omit<StatementFileInput, 'account' | 'bic' | 'correspondentAccount'>) => statementFile({ ...p, ...BANK });

describe('an invoice paid by bank transfer', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      overrides: (raw) => {
        raw.exchange.bases = [];
        raw.organizations[0].payments.invoice = { bank: BANK, prefix: 'СЧ-' };
      },
    });
  });
  afterAll(() => h?.close());

  test('the statement’s line names the invoice: the payment is paid once, the order too; an unknown line goes to review', async () => {
    const order = (await h.call('POST', '/api/v1/orders', orderBody({ customer: buyer }), SITE_AUTH)).body;
    const payment = (
      await h.call(
        'POST',
        `/api/v1/orders/${order.id}/payments`,
        { method: 'invoice' },
        { ...SITE_AUTH, 'idempotency-key': `s-${order.id}` },
      )
    ).body;
    const { number, date } = payment.action;
    const file = statement({
      number: '512',
      date: ru(date),
      amount: '3500.00',
      purpose: `Оплата по счету № ${number} от ${ru(date)} за товар. В т.ч. НДС 22% - 631.15 руб.`,
      payerInn: buyer.inn,
    });

    expect(await ingestStatement(h.gateway.deps, 'main', new ClientBankFileSource(file))).toMatchObject({ seen: 1, stored: 1 });
    const run = await matchAndApply(h.gateway.deps, 'main');
    expect(run).toMatchObject({ lines: 1, matched: 1, review: 0, paid: 1 });
    const after = (await h.call('GET', `/api/v1/payments/${payment.id}`, undefined, SITE_AUTH)).body;
    expect(after.status).toBe('paid');
    expect((await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body).toMatchObject({
      status: 'paid',
      paidAmount: 350000,
    });

    // the same statement again, and another run: nothing doubles
    expect(await ingestStatement(h.gateway.deps, 'main', new ClientBankFileSource(file))).toMatchObject({ seen: 1, stored: 0 });
    expect(await matchAndApply(h.gateway.deps, 'main')).toMatchObject({ lines: 0, paid: 0 });
    expect((await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body.paidAmount).toBe(350000);

    const stranger = statement({
      number: '77',
      date: ru(date),
      amount: '1234.00',
      purpose: 'Оплата по договору 5 за услуги',
      payerInn: '7736207543',
    });
    await ingestStatement(h.gateway.deps, 'main', new ClientBankFileSource(stranger));
    expect(await matchAndApply(h.gateway.deps, 'main')).toMatchObject({ lines: 1, matched: 0, review: 1, paid: 0 });
  });

  test('through the admin API: the file uploaded as the bank gave it pays the invoice; a broken file stores nothing', async () => {
    const order = (await h.call('POST', '/api/v1/orders', orderBody({ customer: buyer }), SITE_AUTH)).body;
    const payment = (
      await h.call(
        'POST',
        `/api/v1/orders/${order.id}/payments`,
        { method: 'invoice' },
        { ...SITE_AUTH, 'idempotency-key': `a-${order.id}` },
      )
    ).body;
    const { number, date } = payment.action;
    const upload = (body: Buffer) =>
      fetch(`${h.url}/api/v1/admin/statements`, {
        method: 'POST',
        headers: { ...ADMIN_AUTH, 'content-type': 'application/octet-stream' },
        body,
      });
    const count = async () =>
      Number(
        (await h.gateway.store.db
          .selectFrom('statement_lines')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirst())!.n,
      );

    const before = await count();
    const file = statement({
      number: '913',
      date: ru(date),
      amount: '3500.00',
      purpose: `Оплата по сч. ${number} от ${ru(date)}`,
      payerInn: buyer.inn,
    });
    const cut = file.subarray(0, file.length - 40);
    const bad = await upload(cut);
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as any).error.code).toBe('statement_refused');
    expect(await count()).toBe(before);
    expect((await h.call('GET', `/api/v1/payments/${payment.id}`, undefined, SITE_AUTH)).body.status).toBe('pending');

    const ok = await upload(file);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ seen: 1, stored: 1, matched: 1, paid: 1 });
    expect((await h.call('GET', `/api/v1/payments/${payment.id}`, undefined, SITE_AUTH)).body.status).toBe('paid');
  });
});

describe('the review list of bank lines', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      overrides: (raw) => {
        raw.exchange.bases = [];
        raw.organizations[0].payments.invoice = { bank: BANK, prefix: 'РВ-' };
      },
    });
  });
  afterAll(() => h?.close());

  const invoiceFor = async (key: string) => {
    const order = (await h.call('POST', '/api/v1/orders', orderBody({ customer: buyer }), SITE_AUTH)).body;
    const payment = (
      await h.call(
        'POST',
        `/api/v1/orders/${order.id}/payments`,
        { method: 'invoice' },
        { ...SITE_AUTH, 'idempotency-key': `${key}-${order.id}` },
      )
    ).body;
    return { order, payment, number: payment.action.number as string, date: payment.action.date as string };
  };
  const inReview = async () => (await h.call('GET', '/api/v1/admin/statement-lines', undefined, ADMIN_AUTH)).body.items as any[];

  test('a line nobody could match is listed; support matches it to two invoices by number, or closes it with a note', async () => {
    const a = await invoiceFor('ra');
    const b = await invoiceFor('rb');
    // a different company pays both, naming neither
    const file = statement({
      number: '4040',
      date: ru(a.date),
      amount: '7000.00',
      purpose: 'Оплата за ООО «Вектор» по письму',
      payerInn: '7736207543',
    });
    await ingestStatement(h.gateway.deps, 'main', new ClientBankFileSource(file));
    expect(await matchAndApply(h.gateway.deps, 'main')).toMatchObject({ review: 1, paid: 0 });
    const [line] = (await inReview()).filter((l) => l.number === '4040');
    expect(line).toMatchObject({ amount: 700000, payer: { inn: '7736207543' }, match: { state: 'review', invoices: [] } });
    expect(line.match.note).toBeTruthy();

    // an unknown invoice: refused, nothing changed
    const bad = await h.call('POST', `/api/v1/admin/statement-lines/${line.id}/match`, { invoices: [a.number, 'НЕТ-999'] }, ADMIN_AUTH);
    expect(bad.status).toBe(422);
    expect(bad.body.error).toMatchObject({ code: 'unknown_invoice', details: [{ path: 'invoices[1]' }] });
    expect((await inReview()).map((l) => l.id)).toContain(line.id);
    expect((await h.call('GET', `/api/v1/payments/${a.payment.id}`, undefined, SITE_AUTH)).body.status).toBe('pending');

    const ok = await h.call(
      'POST',
      `/api/v1/admin/statement-lines/${line.id}/match`,
      { invoices: [a.number, b.number], note: 'письмо от 02.12' },
      ADMIN_AUTH,
    );
    expect(ok.status).toBe(200);
    expect(ok.body.match).toMatchObject({
      state: 'matched',
      note: 'сопоставлено вручную: письмо от 02.12',
      invoices: [
        { number: a.number, amount: 350000, remaining: 0 },
        { number: b.number, amount: 350000, remaining: 0 },
      ],
    });
    for (const x of [a, b])
      expect((await h.call('GET', `/api/v1/payments/${x.payment.id}`, undefined, SITE_AUTH)).body.status).toBe('paid');
    expect((await inReview()).map((l) => l.id)).not.toContain(line.id);
    expect((await h.call('POST', `/api/v1/admin/statement-lines/${line.id}/match`, { invoices: [a.number] }, ADMIN_AUTH)).status).toBe(409);

    const loan = statement({
      number: '4041',
      date: ru(a.date),
      amount: '50000.00',
      purpose: 'Возврат займа по договору 7',
      payerInn: '7736207543',
    });
    await ingestStatement(h.gateway.deps, 'main', new ClientBankFileSource(loan));
    await matchAndApply(h.gateway.deps, 'main');
    const [other] = (await inReview()).filter((l) => l.number === '4041');
    const closed = await h.call(
      'POST',
      `/api/v1/admin/statement-lines/${other.id}/resolve`,
      { note: 'возврат займа, не оплата' },
      ADMIN_AUTH,
    );
    expect(closed.body.match).toMatchObject({ state: 'resolved', note: 'возврат займа, не оплата' });
    expect((await inReview()).map((l) => l.id)).not.toContain(other.id);
  });
  test('a line matched to an invoice that was cancelled before it was applied: nothing paid, its money the buyer’s advance, support alerted', async () => {
    const c = await invoiceFor('rc');
    const file = statement({
      number: '4050',
      date: ru(c.date),
      amount: '3500.00',
      purpose: `Оплата по счету ${c.number}`,
      payerInn: buyer.inn,
    });
    await ingestStatement(h.gateway.deps, 'main', new ClientBankFileSource(file));
    await matchStoredLines(h.gateway.deps, 'main');
    await h.gateway.store.db.updateTable('payments').set({ status: 'cancelled' }).where('id', '=', c.payment.id).execute();

    expect(await applyMatchedLines(h.gateway.deps, 'main')).toEqual({ paid: [], parts: [] });
    expect((await h.call('GET', `/api/v1/orders/${c.order.id}`, undefined, SITE_AUTH)).body.paidAmount).toBe(0);
    const [line] = (await h.call('GET', '/api/v1/admin/statement-lines?state=all', undefined, ADMIN_AUTH)).body.items.filter(
      (l: { number: string }) => l.number === '4050',
    );
    expect(line.match.note.replace(/\s/g, ' ')).toBe(`счёт № ${c.number} уже не к оплате (cancelled): 3 500,00 ₽ — аванс покупателя`);
    expect((await alerts(h)).filter((a) => a.key === `statement-overpaid:main:${line.id}`)).toHaveLength(1);
    // applied once: another run neither pays nor alerts again
    await applyMatchedLines(h.gateway.deps, 'main');
    expect((await alerts(h)).filter((a) => a.key === `statement-overpaid:main:${line.id}`)).toHaveLength(1);
  });
});

describe('an invoice paid by bank transfer, into УТ 11.5', () => {
  let h: Harness;
  let site: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    site = await receiver();
    h = await startHarness({
      onec: { configuration: 'ut11' },
      siteWebhook: { url: site.url, secret: 'site-webhook-secret-1' },
      overrides: (raw) => {
        raw.exchange.bases = [];
        raw.organizations[0].payments.invoice = { bank: BANK, prefix: 'СЧ-' };
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    await site?.close();
  });

  test('one posted ПоступлениеБезналичныхДенежныхСредств settles the order, with the payment order’s number and date', async () => {
    const number = `B-${Math.floor(Math.random() * 1e6)}`;
    const inBase = h.onec!.seedCustomerOrder({ number, total: 3500 });
    const order = (await h.call('POST', '/api/v1/orders', orderBody({ number, customer: buyer }), SITE_AUTH)).body;
    const payment = (
      await h.call(
        'POST',
        `/api/v1/orders/${order.id}/payments`,
        { method: 'invoice' },
        { ...SITE_AUTH, 'idempotency-key': `u-${order.id}` },
      )
    ).body;
    const { number: invoice, date } = payment.action;
    const file = statement({
      number: '512',
      date: ru(date),
      amount: '3500.00',
      purpose: `Оплата по счету ${invoice} от ${ru(date)}`,
      payerInn: buyer.inn,
    });
    const upload = await fetch(`${h.url}/api/v1/admin/statements`, {
      method: 'POST',
      headers: { ...ADMIN_AUTH, 'content-type': 'application/octet-stream' },
      body: file,
    });
    expect(await upload.json()).toMatchObject({ matched: 1, paid: 1 });

    const delivered = async () => (await h.call('GET', `/api/v1/payments/${payment.id}`, undefined, SITE_AUTH)).body.onec?.status;
    for (let i = 0; i < 100 && (await delivered()) !== 'delivered'; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await delivered()).toBe('delivered');
    const docs = h.onec!.paymentDocuments().filter((d) => d.settles?.orderRef === inBase.Ref_Key);
    expect(docs).toEqual([
      expect.objectContaining({
        entity: 'Document_ПоступлениеБезналичныхДенежныхСредств',
        posted: true,
        amount: 3500,
        operation: 'ПоступлениеОплатыОтКлиента',
      }),
    ]);
    const doc = h.onec!.get('Document_ПоступлениеБезналичныхДенежныхСредств', docs[0].ref)!;
    expect(doc).toMatchObject({
      НомерВходящегоДокумента: '512',
      ДатаВходящегоДокумента: `${date}T00:00:00`,
      Контрагент_Key: h.onec!.refs.counterparty,
    });
  });

  test('paid in two transfers: each is its own paid payment and its own bank receipt in 1C; the rest stays due until the second', async () => {
    const number = `P-${Math.floor(Math.random() * 1e6)}`;
    const inBase = h.onec!.seedCustomerOrder({ number, total: 3500 });
    const order = (await h.call('POST', '/api/v1/orders', orderBody({ number, customer: buyer }), SITE_AUTH)).body;
    const payment = (
      await h.call(
        'POST',
        `/api/v1/orders/${order.id}/payments`,
        { method: 'invoice' },
        { ...SITE_AUTH, 'idempotency-key': `p-${order.id}` },
      )
    ).body;
    const { number: invoice, date } = payment.action;
    const pay = (no: string, amount: string) =>
      fetch(`${h.url}/api/v1/admin/statements`, {
        method: 'POST',
        headers: { ...ADMIN_AUTH, 'content-type': 'application/octet-stream' },
        body: statement({
          number: no,
          date: ru(date),
          amount,
          purpose: `Частичная оплата по счету ${invoice} от ${ru(date)}`,
          payerInn: buyer.inn,
        }),
      }).then((r) => r.json());

    expect(await pay('601', '1000.00')).toMatchObject({ partial: 1, paid: 0, parts: 1 });
    const first = (await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body;
    expect(first).toMatchObject({ paidAmount: 100000, status: 'awaiting_payment' });
    const part = first.payments.find((p: { id: string }) => p.id !== payment.id);
    expect(part).toMatchObject({ status: 'paid', amount: 100000 });
    expect((await h.call('GET', `/api/v1/payments/${payment.id}`, undefined, SITE_AUTH)).body).toMatchObject({
      status: 'pending',
      amount: 250000,
    });
    // the site hears of the part paid, and of what is left on the invoice
    await eventually(async () => {
      expect(site.received.map((r) => [r.body.event, r.body.payment.id, r.body.payment.amount])).toEqual(
        expect.arrayContaining([
          ['payment.paid', part.id, 100000],
          ['payment.partially_paid', payment.id, 250000],
        ]),
      );
      return true;
    });

    const listed = (await h.call('GET', '/api/v1/admin/invoices?state=open', undefined, ADMIN_AUTH)).body.items;
    expect(listed.find((i: { number: string }) => i.number === invoice)).toMatchObject({ amount: 350000, paid: 100000, left: 250000 });

    // the same file again: nothing doubles
    expect(await pay('601', '1000.00')).toMatchObject({ stored: 0, paid: 0, parts: 0 });
    expect((await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body.paidAmount).toBe(100000);

    expect(await pay('644', '2500.00')).toMatchObject({ matched: 1, paid: 1, parts: 0 });
    expect((await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body).toMatchObject({
      paidAmount: 350000,
      status: 'paid',
    });
    expect((await h.call('GET', `/api/v1/payments/${payment.id}`, undefined, SITE_AUTH)).body).toMatchObject({
      status: 'paid',
      amount: 250000,
    });

    await eventually(async () => {
      const docs = h.onec!.paymentDocuments().filter((d) => d.settles?.orderRef === inBase.Ref_Key);
      // created, then posted
      expect(docs.map((d) => [d.amount, d.posted]).sort()).toEqual([
        [1000, true],
        [2500, true],
      ]);
      return true;
    });
    const docs = h.onec!.paymentDocuments().filter((d) => d.settles?.orderRef === inBase.Ref_Key);
    const byAmount = (a: number) => h.onec!.get('Document_ПоступлениеБезналичныхДенежныхСредств', docs.find((d) => d.amount === a)!.ref)!;
    expect(byAmount(1000)).toMatchObject({ НомерВходящегоДокумента: '601', Posted: true });
    expect(byAmount(2500)).toMatchObject({ НомерВходящегоДокумента: '644', Posted: true });
  });
});

describe('an invoice with a УИП', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      overrides: (raw) => {
        raw.exchange.bases = [];
        raw.organizations[0].payments.invoice = { bank: BANK, prefix: 'СЧ-', uip: true };
      },
    });
  });
  afterAll(() => h?.close());

  test('carries 1C’s УИП on the invoice; a transfer with it in «Код» is matched by it, whatever the purpose says', async () => {
    const order = (await h.call('POST', '/api/v1/orders', orderBody({ customer: buyer }), SITE_AUTH)).body;
    const payment = (
      await h.call(
        'POST',
        `/api/v1/orders/${order.id}/payments`,
        { method: 'invoice' },
        { ...SITE_AUTH, 'idempotency-key': `uip-${order.id}` },
      )
    ).body;
    const { number, date, uip, document } = payment.action;
    expect(uip).toBe(uipOf(UIP_PREFIX.invoice, date, number));
    const page = await (await fetch(document, { headers: { accept: 'text/html' } })).text();
    expect(page).toContain(`УИП (поле 22 «Код» платежного поручения): ${uip}`);
    expect(page).toContain(`uin=${uip}`); // the QR’s payload names it too

    await ingestStatement(
      h.gateway.deps,
      'main',
      new ClientBankFileSource(
        statement({ number: '88', date: ru(date), amount: '3500.00', purpose: 'Оплата за товар', payerInn: buyer.inn, code: uip }),
      ),
    );
    expect(await matchAndApply(h.gateway.deps, 'main')).toMatchObject({ matched: 1, paid: 1 });
    expect((await h.call('GET', `/api/v1/payments/${payment.id}`, undefined, SITE_AUTH)).body.status).toBe('paid');
  });
});
