import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { symmetricChecksum } from '../../connectors/sber/checksum';
import { ExchangeClient } from '../../connectors/commerceml/exchange-client';
import { eventually, freePort, orderBody } from '../helpers/harness';
import { statementFile } from '../helpers/statement-file';
import { SANDBOX } from '../sandbox/config';

/** `npm run sandbox` as a user meets it: the fixed points of CONTRACTS.md, the README's walk. */

const ROOT = resolve(__dirname, '../..');

describe('npm run sandbox', () => {
  let child: ChildProcess;
  let base: string;
  let output = '';

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn('npm', ['run', 'sandbox', '--silent'], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        LOG_LEVEL: 'warn',
        DATABASE_URL: '',
        REDIS_URL: '',
        SANDBOX_DATA_DIR: mkdtempSync(join(tmpdir(), 'gw-sandbox-')),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    await eventually(async () => output.includes('sandbox is running') && (await fetch(`${base}/health/ready`)).ok, 60_000, 100);
  }, 70_000);

  afterAll(async () => {
    if (child.pid) process.kill(-child.pid, 'SIGTERM');
    await new Promise((r) => child.once('exit', r));
  });

  const site = { authorization: `Bearer ${SANDBOX.siteKey}`, 'content-type': 'application/json' };
  const post = async (path: string, body: unknown, headers: Record<string, string> = site) => {
    const r = await fetch(base + path, { method: 'POST', headers, body: JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as any };
  };
  /** The sandbox's site got `payment.paid` for the payment, signed with the site's secret. */
  const siteHeard = async (paymentId: string) =>
    eventually(
      async () => {
        const items = ((await (await fetch(`${base}/sandbox/site/webhooks`)).json()) as any).items;
        const paid = items.filter((w: any) => w.body.event === 'payment.paid' && w.body.payment.id === paymentId);
        return paid.length > 0 && paid.every((w: any) => w.signatureValid && w.body.payment.status === 'paid');
      },
      10_000,
      200,
    );
  const status = async (paymentId: string) =>
    ((await (await fetch(`${base}/api/v1/payments/${paymentId}`, { headers: site })).json()) as any).status;

  test('onec check on the sandbox’s 1C base: the mapping fits, nothing wrong', async () => {
    const command = /npx onec-gateway (onec check --config \S+)/.exec(output);
    expect(command).not.toBeNull();
    const r = await new Promise<{ code: number | null; out: string }>((done) => {
      const c = spawn(process.execPath, [join(ROOT, 'bin/onec-gateway.js'), ...command![1].split(' ')], {
        cwd: ROOT,
        env: { ...process.env, REDIS_URL: '' },
      });
      let out = '';
      c.stdout.on('data', (b) => (out += b));
      c.stderr.on('data', (b) => (out += b));
      c.on('close', (code) => done({ code, out }));
    });
    expect(r.out).toContain('main: ');
    expect(r.out).toContain('✓ the base has everything the mapping names');
    expect(r.code).toBe(0);
  });

  test('prints the URLs and the keys', () => {
    expect(output).toContain(base);
    expect(output).toContain(SANDBOX.siteKey);
    expect(output).toContain(SANDBOX.adminKey);
    expect(output).toContain(`${SANDBOX.onecUser} / ${SANDBOX.onecPassword}`);
    expect(output).toContain(`POST ${base}/sandbox/bank/transfers`);
    expect(output).toContain(SANDBOX.bank.account);
  });

  test('order → card payment → /sandbox/payments/{id}/complete → paid within 2 s', async () => {
    const order = await post('/api/v1/orders', orderBody());
    expect(order.status).toBe(201);
    const payment = await post(`/api/v1/orders/${order.body.id}/payments`, { method: 'card' }, { ...site, 'idempotency-key': 'walk-1' });
    expect(payment.status).toBe(201);
    expect(payment.body.action.type).toBe('redirect');
    const t0 = Date.now();
    const done = await post(`/sandbox/payments/${payment.body.id}/complete`, { outcome: 'paid' }, { 'content-type': 'application/json' });
    expect(done.status).toBe(200);
    await eventually(async () => (await status(payment.body.id)) === 'paid', 2000, 50);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  test('with the callback suppressed, the janitor still brings the payment to paid', async () => {
    await post('/sandbox/sber/knobs', { callbacks: 'off' }, { 'content-type': 'application/json' });
    try {
      const order = await post('/api/v1/orders', orderBody());
      const payment = await post(`/api/v1/orders/${order.body.id}/payments`, { method: 'card' }, { ...site, 'idempotency-key': 'walk-2' });
      await post(`/sandbox/payments/${payment.body.id}/complete`, { outcome: 'paid' }, { 'content-type': 'application/json' });
      expect(await status(payment.body.id)).toBe('pending');
      await eventually(async () => (await status(payment.body.id)) === 'paid', 20_000, 250);
    } finally {
      await post('/sandbox/sber/knobs', { callbacks: 'on' }, { 'content-type': 'application/json' });
    }
  }, 30_000);

  test('receipts: card payment → full_prepayment done; 1C marks the order shipped over CommerceML → full_payment done; both in /sandbox/fiscal', async () => {
    const body = orderBody();
    const order = (await post('/api/v1/orders', body)).body;
    const payment = (await post(`/api/v1/orders/${order.id}/payments`, { method: 'card' }, { ...site, 'idempotency-key': 'walk-fiscal' }))
      .body;
    await post(`/sandbox/payments/${payment.id}/complete`, { outcome: 'paid' }, { 'content-type': 'application/json' });
    const receipts = async () =>
      ((await (await fetch(`${base}/api/v1/payments/${payment.id}`, { headers: site })).json()) as any).receipts as any[];
    const [pre] = await eventually(
      async () => {
        const r = await receipts();
        return r[0]?.status === 'done' && r;
      },
      20_000,
      200,
    );
    expect(pre).toMatchObject({ kind: 'prepayment', operation: 'sell', register: 'web', payments: [{ type: 'cashless', amount: 350000 }] });
    expect(pre.items.map((i: any) => [i.paymentMethod, i.paymentObject, i.vat])).toEqual([
      ['full_prepayment', 1, 'vat122'],
      ['full_prepayment', 4, 'vat122'],
    ]);
    expect(pre.fiscal.fnNumber).toMatch(/^\d{16}$/);

    const c = new ExchangeClient({ url: `${base}/exchange/1c`, user: SANDBOX.onecUser, password: SANDBOX.onecPassword, timeoutMs: 30_000 });
    await c.checkauth();
    await c.init();
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.08" ДатаФормирования="2026-12-01T10:00:00"><Документ><Ид>${body.externalId}</Ид><Номер>${body.number}</Номер><Дата>2026-12-01</Дата><ХозОперация>Заказ товара</ХозОперация><Сумма>3500.00</Сумма>
<ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Отгружен</Наименование><Значение>true</Значение></ЗначениеРеквизита><ЗначениеРеквизита><Наименование>Дата отгрузки по 1С</Наименование><Значение>2026-12-01T14:30:00</Значение></ЗначениеРеквизита></ЗначенияРеквизитов></Документ></КоммерческаяИнформация>`;
    await c.upload('documents___walk.xml', Buffer.from(xml));
    await c.import('documents___walk.xml', { pollDelayMs: 100 });
    const [, settlement] = await eventually(
      async () => {
        const r = await receipts();
        return r[1]?.status === 'done' && r;
      },
      20_000,
      200,
    );
    expect(settlement).toMatchObject({ kind: 'settlement', operation: 'sell', payments: [{ type: 'prepayment', amount: 350000 }] });
    expect(settlement.items.map((i: any) => [i.paymentMethod, i.paymentObject, i.vat])).toEqual([
      ['full_payment', 1, 'vat22'],
      ['full_payment', 4, 'vat22'],
    ]);

    const fiscal = (await (await fetch(`${base}/sandbox/fiscal`)).json()) as any;
    const held = fiscal.atolOnline.receipts.filter((r: any) => [pre.externalId, settlement.externalId].includes(r.externalId));
    expect(held.map((r: any) => [r.operation, r.status, r.items.map((i: any) => i.payment_method), r.payments])).toEqual([
      ['sell', 'done', ['full_prepayment', 'full_prepayment'], [{ type: 1, sum: 3500 }]],
      ['sell', 'done', ['full_payment', 'full_payment'], [{ type: 2, sum: 3500 }]],
    ]);
  }, 60_000);

  test('B2B: a company’s order → invoice (PDF) → a bank transfer to the sandbox account → paid within seconds, one bank receipt in 1C', async () => {
    const buyer = { type: 'legal', name: 'ООО «Вектор»', inn: '7701234560', kpp: '770101001', email: 'buh@vektor.example' };
    const order = await post('/api/v1/orders', orderBody({ number: '1003', customer: buyer }));
    expect(order.status).toBe(201);
    const payment = await post(
      `/api/v1/orders/${order.body.id}/payments`,
      { method: 'invoice' },
      { ...site, 'idempotency-key': 'walk-b2b' },
    );
    expect(payment.status).toBe(201);
    expect(payment.body.action).toMatchObject({
      type: 'invoice',
      number: expect.any(String),
      document: expect.stringContaining('/invoices/'),
    });
    const pdf = await fetch(payment.body.action.document, { headers: { accept: 'application/pdf' } });
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect((await pdf.arrayBuffer()).byteLength).toBeGreaterThan(1000);

    const { number, date } = payment.body.action;
    const transfer = await post(
      '/sandbox/bank/transfers',
      {
        amount: 350000,
        purpose: `Оплата по счету № ${number} от ${date.split('-').reverse().join('.')} за товар. В т.ч. НДС 22% - 631.15 руб.`,
        payerInn: buyer.inn,
        payerKpp: buyer.kpp,
        payerName: buyer.name,
        payerAccount: '40702810600000000777',
      },
      { 'content-type': 'application/json' },
    );
    expect(transfer.status).toBe(201);
    expect(transfer.body).toMatchObject({ accountNumber: SANDBOX.bank.account, amount: 350000 });
    await eventually(async () => (await status(payment.body.id)) === 'paid', 10_000, 200);

    const onec = async () => (await (await fetch(`${base}/sandbox/onec`)).json()) as any;
    const ref = (await onec()).orders.find((o: any) => o.number === '1003').ref;
    const docs = await eventually(
      async () => {
        // 1C writes the document, then posts it: read when it is posted
        const d = (await onec()).payments.filter((p: any) => p.settles?.orderRef === ref);
        return d.length > 0 && d.every((p: any) => p.posted) && d;
      },
      20_000,
      200,
    );
    expect(docs).toEqual([
      expect.objectContaining({ entity: 'Document_ПоступлениеБезналичныхДенежныхСредств', posted: true, amount: 3500 }),
    ]);
    await siteHeard(payment.body.id);
  }, 40_000);

  test('a manager’s invoice in the sandbox’s 1C is picked up and listed for the company with 1C’s number', async () => {
    const onec = (await (await fetch(`${base}/sandbox/onec`)).json()) as { orders: { number: string }[] };
    expect(onec.orders.map((o) => o.number)).toContain('ЗК-0000002');
    const listed = await eventually(
      async () => {
        const r = await fetch(`${base}/api/v1/customers/7728168971/invoices`, { headers: site });
        const body = (await r.json()) as { invoices: { number: string; amount: number; source: string; state: string }[] };
        return body.invoices.length > 0 && body.invoices;
      },
      30_000,
      250,
    );
    expect(listed).toEqual([
      expect.objectContaining({ amount: 1_200_000, source: 'onec', state: 'open', number: expect.stringMatching(/^ЭК00-/) }),
    ]);
  }, 40_000);

  test('B2B: the accountant imports the statement into 1C → the invoice is paid from 1C’s bank receipt, no second one', async () => {
    const buyer = { type: 'legal', name: 'ООО «Вектор»', inn: '7701234560', kpp: '770101001', email: 'buh@vektor.example' };
    const order = await post('/api/v1/orders', orderBody({ number: '1005', customer: buyer }));
    expect(order.body).toMatchObject({ number: '1005' });
    const payment = await post(
      `/api/v1/orders/${order.body.id}/payments`,
      { method: 'invoice' },
      { ...site, 'idempotency-key': 'walk-b2b-1c' },
    );
    expect(payment.body).toMatchObject({ status: 'pending' });
    const { number, date } = payment.body.action;
    const imported = await post(
      '/sandbox/onec/bank-receipts',
      {
        number: '918',
        date,
        amount: 350000,
        purpose: `Оплата по счету № ${number} от ${date.split('-').reverse().join('.')}`,
        payerInn: buyer.inn,
        payerName: buyer.name,
        orderNumber: '1005',
      },
      { 'content-type': 'application/json' },
    );
    expect(imported.status).toBe(200);
    await eventually(async () => (await status(payment.body.id)) === 'paid', 20_000, 200);
    const onec = (await (await fetch(`${base}/sandbox/onec`)).json()) as any;
    const ref = onec.orders.find((o: any) => o.number === '1005').ref;
    expect(onec.payments.filter((p: any) => p.settles?.orderRef === ref).map((p: any) => p.ref)).toEqual([imported.body.ref]);
    await siteHeard(payment.body.id);
    // the payment's 1C document is the accountant's; nothing else is written later either
    expect((await (await fetch(`${base}/api/v1/payments/${payment.body.id}`, { headers: site })).json()) as any).toMatchObject({
      onec: { status: 'delivered', document: imported.body.ref },
    });
    const again = (await (await fetch(`${base}/sandbox/onec`)).json()) as any;
    expect(again.payments.filter((p: any) => p.settles?.orderRef === ref)).toHaveLength(1);
  }, 40_000);

  test('B2B through a statement file: the accountant uploads the bank’s 1CClientBankExchange → paid, one bank receipt in 1C, the site told', async () => {
    const buyer = { type: 'legal', name: 'ООО «Вектор»', inn: '7701234560', kpp: '770101001', email: 'buh@vektor.example' };
    const order = await post('/api/v1/orders', orderBody({ externalId: 'site-1004', number: '1004', customer: buyer }));
    const payment = await post(
      `/api/v1/orders/${order.body.id}/payments`,
      { method: 'invoice' },
      { ...site, 'idempotency-key': 'walk-b2b-file' },
    );
    expect([order.status, order.body.error, payment.status]).toEqual([201, undefined, 201]);
    const { number, date } = payment.body.action;
    const file = statementFile({
      ...SANDBOX.bank,
      number: '7001',
      date: date.split('-').reverse().join('.'),
      amount: '3500.00',
      purpose: `Оплата по сч. ${number} от ${date.split('-').reverse().join('.')}`,
      payerInn: buyer.inn,
    });
    const upload = await fetch(`${base}/api/v1/admin/statements`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SANDBOX.adminKey}`, 'content-type': 'application/octet-stream' },
      body: file,
    });
    expect(upload.status).toBe(200);
    expect(await upload.json()).toMatchObject({ seen: 1, stored: 1, matched: 1, paid: 1 });
    expect(await status(payment.body.id)).toBe('paid');

    const onec = async () => (await (await fetch(`${base}/sandbox/onec`)).json()) as any;
    const ref = (await onec()).orders.find((o: any) => o.number === '1004').ref;
    const docs = await eventually(
      async () => {
        const d = (await onec()).payments.filter((p: any) => p.settles?.orderRef === ref && p.posted);
        return d.length > 0 && d;
      },
      20_000,
      200,
    );
    expect(docs).toEqual([expect.objectContaining({ entity: 'Document_ПоступлениеБезналичныхДенежныхСредств', amount: 3500 })]);
    await siteHeard(payment.body.id);
  }, 40_000);

  test('B2B overdue: a deferred invoice not paid by its due date → support alerted («Просрочена оплата счёта»), once', async () => {
    const buyer = { type: 'legal', name: 'ООО «Вектор»', inn: '7701234560', kpp: '770101001', email: 'buh@vektor.example' };
    const order = await post(
      '/api/v1/orders',
      orderBody({
        externalId: 'site-2001',
        number: '2001',
        customer: buyer,
        paymentTerms: { type: 'deferred', days: 10, from: 'invoice' },
      }),
    );
    expect(order.status).toBe(201);
    const payment = await post(
      `/api/v1/orders/${order.body.id}/payments`,
      { method: 'invoice' },
      { ...site, 'idempotency-key': 'walk-b2b-late' },
    );
    const { number, dueDate } = payment.body.action;
    const dayAfter = new Date(Date.parse(`${dueDate}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const overdue = async () =>
      ((await (await fetch(`${base}/sandbox/alerts`)).json()) as any).items.filter(
        (a: any) => a.body.title === 'Просрочена оплата счёта' && String(a.body.text).includes(number),
      );
    // on the due date itself: a reminder to the buyer, no alert
    expect((await post('/sandbox/invoices/check-due', { today: dueDate }, { 'content-type': 'application/json' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    expect(await overdue()).toEqual([]);
    expect((await post('/sandbox/invoices/check-due', { today: dayAfter }, { 'content-type': 'application/json' })).status).toBe(200);
    await eventually(async () => (await overdue()).length === 1, 10_000, 200);
    await post('/sandbox/invoices/check-due', { today: dayAfter }, { 'content-type': 'application/json' });
    await new Promise((r) => setTimeout(r, 500));
    expect(await overdue()).toHaveLength(1);
    expect(await status(payment.body.id)).toBe('pending');
  }, 30_000);

  test('the overdue alert reached support’s Telegram chat too: GET /sandbox/telegram', async () => {
    const telegram = async () => ((await (await fetch(`${base}/sandbox/telegram`)).json()) as any).items;
    const msg = await eventually(async () => (await telegram()).find((m: any) => m.shown.includes('Просрочена оплата счёта')), 10_000, 200);
    expect(msg).toMatchObject({ parseMode: 'HTML', chatId: '-1001000000001', disableNotification: false });
    expect(msg.text).toContain('<b>Просрочена оплата счёта</b>');
    expect(output).toContain(`GET ${base}/sandbox/telegram`);
  });

  test('a forged callback gets 403 and changes nothing', async () => {
    const order = await post('/api/v1/orders', orderBody());
    const payment = await post(`/api/v1/orders/${order.body.id}/payments`, { method: 'card' }, { ...site, 'idempotency-key': 'walk-3' });
    const mdOrder = new URL(payment.body.action.url).searchParams.get('mdOrder')!;
    const params = { mdOrder, orderNumber: 'whatever', operation: 'deposited', status: '1' };
    const forged = new URLSearchParams({ ...params, checksum: symmetricChecksum(params, 'guessed-secret') });
    const r = await fetch(`${base}/callbacks/sber/main?${forged}`);
    expect(r.status).toBe(403);
    expect(await status(payment.body.id)).toBe('pending');
  });
});
