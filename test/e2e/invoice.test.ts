import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { moscowDate } from '../../gateway/flows/payments/invoice';
import { orderBody, SITE_AUTH, startHarness, type Harness } from '../helpers/harness';

/** `method: invoice`: a «Счёт на оплату» numbered in the organization's series, due by the order's terms. */

const COMPANY = { type: 'legal', name: 'ООО «Вектор»', inn: '7701234560', kpp: '770101001', email: 'buh@vector.example' };
const BANK = { name: 'ПАО Сбербанк', bic: '044525225', account: '40702810938000000001', correspondentAccount: '30101810400000000225' };

const plusDays = (date: string, n: number) => new Date(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

describe('payment by invoice', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      overrides: (raw) => {
        raw.exchange.bases = [];
        raw.organizations[0].payments.invoice = { bank: BANK, prefix: 'СЧ-', payWithinDays: 5 };
      },
    });
  });
  afterAll(() => h?.close());

  async function invoiceFor(overrides: Record<string, unknown>, key = `inv-${Math.random()}`) {
    const order = (await h.call('POST', '/api/v1/orders', orderBody({ customer: COMPANY, ...overrides }), SITE_AUTH)).body;
    const r = await h.call('POST', `/api/v1/orders/${order.id}/payments`, { method: 'invoice' }, { ...SITE_AUTH, 'idempotency-key': key });
    return { order, r };
  }

  test('a prepaid order: the next number of the series, payable for payWithinDays, and the document’s link', async () => {
    const today = moscowDate(new Date().toISOString());
    const first = await invoiceFor({});
    expect(first.r.status).toBe(201);
    expect(first.r.body).toMatchObject({ method: 'invoice', status: 'pending', amount: 350000 });
    const a = first.r.body.action;
    expect(a).toMatchObject({ type: 'invoice', date: today, dueDate: plusDays(today, 5) });
    expect(a.number).toMatch(/^СЧ-\d+$/);
    expect(a.document).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/invoices\/[A-Za-z0-9_-]{32}$/);
    const second = await invoiceFor({});
    expect(Number(second.r.body.action.number.slice(3))).toBe(Number(a.number.slice(3)) + 1);
    // the payment as the site reads it later
    const again = await h.call('GET', `/api/v1/payments/${first.r.body.id}`, undefined, SITE_AUTH);
    expect(again.body.action).toEqual(a);
  });

  test('an order with an invoice still to pay gets the same invoice again, not a new number', async () => {
    const { order, r } = await invoiceFor({});
    const again = await h.call(
      'POST',
      `/api/v1/orders/${order.id}/payments`,
      { method: 'invoice' },
      { ...SITE_AUTH, 'idempotency-key': `other-${order.id}` },
    );
    expect(again.body.id).toBe(r.body.id);
    expect(again.body.action.number).toBe(r.body.action.number);
  });

  test('deferred terms: N days from the invoice’s date, or from a shipment still to come', async () => {
    const today = moscowDate(new Date().toISOString());
    const fromInvoice = await invoiceFor({ paymentTerms: { type: 'deferred', days: 30, from: 'invoice' } });
    expect(fromInvoice.r.body.action).toMatchObject({ dueDate: plusDays(today, 30) });
    const fromShipment = await invoiceFor({ paymentTerms: { type: 'deferred', days: 14 } });
    expect(fromShipment.r.body.action).toMatchObject({ dueDate: null, dueDaysAfterShipment: 14 });
  });

  test('the document’s link: the PDF «Счет на оплату», the same invoice as a page for a browser, nothing for a wrong token', async () => {
    const { order, r } = await invoiceFor({ paymentTerms: { type: 'deferred', days: 30, from: 'invoice' } });
    const a = r.body.action;
    const pdf = await fetch(a.document);
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    const bytes = Buffer.from(await pdf.arrayBuffer());
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    const file = join(mkdtempSync(join(tmpdir(), 'invoice-')), 'invoice.pdf');
    writeFileSync(file, bytes);
    const text = execFileSync('pdftotext', ['-layout', '-enc', 'UTF-8', file, '-'], { encoding: 'utf8' })
      .replace(/\u00a0/g, ' ')
      .replace(/ +/g, ' ');
    const ru = (d: string) => d.split('-').reverse().join('.');
    expect(text).toContain(`Счет на оплату № ${a.number} от`);
    expect(text).toContain('ООО «Вектор»');
    expect(text).toContain('7701234560');
    expect(text).toContain('044525225');
    expect(text).toContain('40702810938000000001');
    expect(text).toContain('Чайник электрический');
    expect(text).toContain(`Заказ №${order.number}`);
    expect(text).toContain('Три тысячи пятьсот рублей 00 копеек');
    expect(text).toContain(ru(a.dueDate));

    const page = await fetch(a.document, { headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain(a.number);
    expect(html).toContain('data:image/png;base64,');
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1];
    expect(page.headers.get('content-security-policy')).toContain(
      `style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`,
    );
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect((await fetch(`${a.document}?format=pdf`, { headers: { accept: 'text/html' } })).headers.get('content-type')).toBe(
      'application/pdf',
    );

    // the payment page offers the invoice to download
    const link = (await h.call('POST', `/api/v1/orders/${order.id}/payment-link`, undefined, SITE_AUTH)).body;
    const payPage = await (await fetch(link.url)).text();
    expect(payPage).toContain(`Счёт на оплату № ${a.number} от `);
    expect(payPage).toContain(`href="${a.document}?format=pdf" download>Скачать счёт</a>`);

    const wrong = a.document.replace(/\/invoices\/.+$/, `/invoices/${'x'.repeat(32)}`);
    expect((await fetch(wrong)).status).toBe(404);
  });

  test('a payment by invoice is not refunded through the gateway', async () => {
    const { r } = await invoiceFor({});
    const refund = await h.call(
      'POST',
      `/api/v1/payments/${r.body.id}/refunds`,
      { amount: 100 },
      { ...SITE_AUTH, 'idempotency-key': `rf-${r.body.id}` },
    );
    expect(refund.status).toBe(422);
    expect(refund.body.error.code).toBe('refund_not_supported');
  });
});
