import { moscowDay } from '../../connectors/tbank/statement';
import { pollStatements, STATEMENT_POLL } from '../../gateway/flows/statements/poll';
import { eventually, orderBody, receiver, scheduleSettled, SITE_AUTH, startHarness, type Harness } from '../helpers/harness';
import { SANDBOX } from '../sandbox/config';

/**
 * A company pays its invoice by bank transfer and the gateway learns it from the T-Business statement
 * API: the emulated T-Bank's statement gets the credit, the poll reads it, the invoice's payment is
 * paid once, 1C gets one bank receipt, the site its webhook.
 */

const buyer = { type: 'legal', name: 'ООО «Вектор»', inn: '7701234560', kpp: '770101001' };
const PAYER = {
  name: buyer.name,
  inn: buyer.inn,
  kpp: buyer.kpp,
  account: '40702810600000000777',
  bic: '044525593',
  bankName: 'АО «Альфа-Банк»',
};
const ru = (d: string) => d.split('-').reverse().join('.');

async function invoiceFor(h: Harness, number: string) {
  const order = (await h.call('POST', '/api/v1/orders', orderBody({ number, customer: buyer }), SITE_AUTH)).body;
  const payment = (
    await h.call('POST', `/api/v1/orders/${order.id}/payments`, { method: 'invoice' }, { ...SITE_AUTH, 'idempotency-key': `i-${order.id}` })
  ).body;
  return { order, payment };
}

const countLines = async (h: Harness) =>
  Number(
    (await h.gateway.store.db
      .selectFrom('statement_lines')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirst())!.n,
  );

describe('an invoice paid by bank transfer, read from the T-Business statement API', () => {
  let h: Harness;
  let site: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    site = await receiver();
    h = await startHarness({
      onec: { configuration: 'ut11' },
      invoices: {},
      siteWebhook: { url: site.url, secret: 'site-webhook-secret-1' },
      overrides: (raw) => {
        raw.exchange.bases = [];
      },
    });
    await scheduleSettled(h, STATEMENT_POLL);
  });
  afterAll(async () => {
    await h?.close();
    await site?.close();
  });

  test('the credit naming the invoice: paid once, one posted bank receipt in 1C, the site told; polling again doubles nothing', async () => {
    const number = `B-${Math.floor(Math.random() * 1e6)}`;
    const inBase = h.onec!.seedCustomerOrder({ number, total: 3500 });
    const { order, payment } = await invoiceFor(h, number);
    expect(payment.action).toMatchObject({ type: 'invoice' });
    // a debit on the account and a stranger's credit come too: neither touches the invoice
    h.tbank.statement.add({ type: 'Debit', amount: 350_000, purpose: 'Оплата поставщику', counterparty: { name: 'ООО «Поставщик»' } });
    const credit = h.tbank.statement.add({
      amount: 350_000,
      purpose: `Оплата по счету № ${payment.action.number} от ${ru(payment.action.date)} за товар. В т.ч. НДС 22% - 631.15 руб.`,
      counterparty: PAYER,
      documentNumber: '512',
    });

    const [poll] = await pollStatements(h.gateway.deps);
    expect(poll).toMatchObject({ organization: 'main', source: 'tbank-statement', since: null, seen: 1, stored: 1, matched: 1, paid: 1 });
    expect(poll.error).toBeUndefined();
    expect(poll.cursor).toBe(new Date(Date.parse(credit.operationDate)).toISOString());
    const asked = h.tbank.statement.requests.at(-1)!;
    expect(asked).toMatchObject({ accountNumber: SANDBOX.bank.account, status: 200 });
    expect(asked.from).toMatch(/Z$/);

    const status = async () => (await h.call('GET', `/api/v1/payments/${payment.id}`, undefined, SITE_AUTH)).body;
    expect((await status()).status).toBe('paid');
    expect((await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body).toMatchObject({
      status: 'paid',
      paidAmount: 350000,
    });
    const hook = await eventually(async () => site.received.find((r) => r.body?.payment?.id === payment.id));
    expect(hook.body).toMatchObject({ event: 'payment.paid', payment: { id: payment.id, status: 'paid', amount: 350000 } });

    await eventually(async () => (await status()).onec?.status === 'delivered', 10_000, 100);
    const docs = () => h.onec!.paymentDocuments().filter((d) => d.settles?.orderRef === inBase.Ref_Key);
    expect(docs()).toEqual([
      expect.objectContaining({ entity: 'Document_ПоступлениеБезналичныхДенежныхСредств', posted: true, amount: 3500 }),
    ]);
    expect(h.onec!.get('Document_ПоступлениеБезналичныхДенежныхСредств', docs()[0].ref)).toMatchObject({
      НомерВходящегоДокумента: '512',
      ДатаВходящегоДокумента: `${moscowDay(credit.docDate!)}T00:00:00`,
    });

    // the next poll re-reads the overlap: the same operation again, nothing stored, nothing paid twice
    const [again] = await pollStatements(h.gateway.deps);
    expect(again).toMatchObject({ since: poll.cursor, seen: 1, stored: 0, paid: 0 });
    expect(again.error).toBeUndefined();
    expect(h.tbank.statement.requests.at(-1)!.from).toBe(new Date(Date.parse(poll.cursor!) - 96 * 3_600_000).toISOString());
    await new Promise((r) => setTimeout(r, 500));
    expect(docs()).toHaveLength(1);
    expect(site.received.filter((r) => r.body?.payment?.id === payment.id && r.body?.event === 'payment.paid')).toHaveLength(1);
    expect((await h.call('GET', `/api/v1/orders/${order.id}`, undefined, SITE_AUTH)).body.paidAmount).toBe(350000);
  });

  test('a bank outage: the poll fails visibly, the watermark stays, the next poll catches up', async () => {
    const { payment } = await invoiceFor(h, `C-${Math.floor(Math.random() * 1e6)}`);
    h.tbank.statement.add({ amount: 350_000, purpose: `Оплата по сч. ${payment.action.number}`, counterparty: PAYER });
    const before = await h.gateway.store.db.selectFrom('sync_state').selectAll().where('key', 'like', 'statement:%').execute();
    h.tbank.knobs.statementDown = true;
    try {
      const [failed] = await pollStatements(h.gateway.deps);
      expect(failed.error).toMatch(/HTTP 503/);
      expect(await h.gateway.store.db.selectFrom('sync_state').selectAll().where('key', 'like', 'statement:%').execute()).toEqual(before);
    } finally {
      h.tbank.knobs.statementDown = false;
    }
    expect((await h.call('GET', `/api/v1/payments/${payment.id}`, undefined, SITE_AUTH)).body.status).toBe('pending');
    const [ok] = await pollStatements(h.gateway.deps);
    expect(ok).toMatchObject({ stored: 1, paid: 1 });
    expect((await h.call('GET', `/api/v1/payments/${payment.id}`, undefined, SITE_AUTH)).body.status).toBe('paid');
  });
});

describe('a statement API token the bank does not accept', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      invoices: {},
      overrides: (raw) => {
        raw.exchange.bases = [];
        raw.organizations[0].payments.invoice.statementApi.token = 'revoked-token';
      },
    });
    await scheduleSettled(h, STATEMENT_POLL);
  });
  afterAll(() => h?.close());

  test('the poll fails with the Russian hint, a critical alert is raised, nothing is stored or paid, and the token never reaches the log', async () => {
    const { payment } = await invoiceFor(h, `D-${Math.floor(Math.random() * 1e6)}`);
    h.tbank.statement.add({ amount: 350_000, purpose: `Оплата по счету № ${payment.action.number}`, counterparty: PAYER });

    const [poll] = await pollStatements(h.gateway.deps);
    expect(poll.error).toMatch(/^Т-Банк не принял токен T-Business \(HTTP 401.*Счета и выписки.*statementApi\.token/);
    expect(poll).toMatchObject({ seen: 0, stored: 0, paid: 0, cursor: null });
    expect(h.tbank.statement.requests.at(-1)!.status).toBe(401);

    const alerts = await h.gateway.store.db.selectFrom('jobs').select('payload').where('name', '=', 'alert.send').execute();
    const alert = alerts.map((a) => JSON.parse(a.payload).alert).find((a) => a.key === 'statement-api-failed:main:tbank-statement');
    expect(alert).toMatchObject({ severity: 'critical', title: 'Не удалось прочитать выписку банка' });
    expect(alert.text).toContain('Т-Банк не принял токен');
    expect(alert.text).toContain('ничего не изменено');

    expect(await countLines(h)).toBe(0);
    expect(await h.gateway.store.db.selectFrom('sync_state').selectAll().where('key', 'like', 'statement:%').execute()).toEqual([]);
    expect((await h.call('GET', `/api/v1/payments/${payment.id}`, undefined, SITE_AUTH)).body.status).toBe('pending');
    expect(h.logs.join('\n')).toContain('reading the bank statement failed');
    expect(h.logs.join('\n')).not.toContain('revoked-token');
  });
});
