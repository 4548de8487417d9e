import { checkInvoicesDue } from '../../gateway/flows/invoices/due';
import { addDays, moscowDate } from '../../gateway/flows/payments/invoice';
import { ADMIN_AUTH, eventually, orderBody, SITE_AUTH, startHarness, type Harness } from '../helpers/harness';

/** A deferral's life: reminders to the buyer before and on the due date, once each; overdue → an alert and the admin list. */

const BANK = { name: 'ПАО Сбербанк', bic: '044525225', account: '40702810938000000001', correspondentAccount: '30101810400000000225' };
const buyer = { type: 'legal', name: 'ООО «Вектор»', inn: '7701234560', email: 'buh@vector.example' };
const ru = (d: string) => d.split('-').reverse().join('.');

describe('invoices after they are issued', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      overrides: (raw) => {
        raw.exchange.bases = [];
        raw.organizations[0].payments.invoice = { bank: BANK, payWithinDays: 10, remindDaysBefore: 3 };
      },
    });
  });
  afterAll(() => h?.close());

  async function invoice(extra: Record<string, unknown> = {}) {
    const order = (await h.call('POST', '/api/v1/orders', orderBody({ customer: buyer, ...extra }), SITE_AUTH)).body;
    const payment = (
      await h.call(
        'POST',
        `/api/v1/orders/${order.id}/payments`,
        { method: 'invoice' },
        { ...SITE_AUTH, 'idempotency-key': `i-${order.id}` },
      )
    ).body;
    return { order, payment, number: payment.action.number as string, dueDate: payment.action.dueDate as string };
  }
  const lines = (text: string) => h.logs.filter((l) => l.includes(text));

  test('three days before and on the day, the buyer is reminded once each; the day after, support is alerted once', async () => {
    const { number, dueDate, payment } = await invoice();
    const before = `Напоминаем: счёт № ${number} от `;
    const onTheDay = `Сегодня, ${ru(dueDate)}, истекает срок оплаты: счёт № ${number} от `;

    await checkInvoicesDue(h.gateway.deps, addDays(dueDate, -4));
    await checkInvoicesDue(h.gateway.deps, addDays(dueDate, -3));
    await checkInvoicesDue(h.gateway.deps, addDays(dueDate, -2)); // the next hour and day: no second reminder
    await eventually(async () => lines(before).length === 1);
    expect(lines(before)[0]).toContain(`нужно оплатить до ${ru(dueDate)}`);
    expect(lines(before)[0]).toContain('"email":"b***@vector.example"');
    expect(h.logs.join('\n')).not.toContain('buh@vector.example');

    await checkInvoicesDue(h.gateway.deps, dueDate);
    await checkInvoicesDue(h.gateway.deps, dueDate);
    await eventually(async () => lines(onTheDay).length === 1);

    await checkInvoicesDue(h.gateway.deps, addDays(dueDate, 1));
    await checkInvoicesDue(h.gateway.deps, addDays(dueDate, 2));
    await eventually(async () => lines('Просрочена оплата счёта').some((l) => l.includes(payment.id)));
    await new Promise((r) => setTimeout(r, 300));
    expect(lines('Просрочена оплата счёта').filter((l) => l.includes(payment.id))).toHaveLength(1);
    expect(lines('Просрочена оплата счёта').find((l) => l.includes(payment.id))).toContain(`срок был ${ru(dueDate)}, просрочка 1 дн.`);
    expect(lines(before)).toHaveLength(1);
  });

  test('a deferral from shipment has no due date until the goods go; then it counts from the shipment', async () => {
    const { order, number } = await invoice({ paymentTerms: { type: 'deferred', days: 14 } });
    const list = async (state: string) =>
      (await h.call('GET', `/api/v1/admin/invoices?state=${state}`, undefined, ADMIN_AUTH)).body.items.find(
        (i: { number: string }) => i.number === number,
      );
    expect(await list('open')).toMatchObject({
      dueDate: null,
      daysOverdue: 0,
      orderNumber: order.number,
      customer: { name: 'ООО «Вектор»', inn: '7701234560' },
    });
    // shipped 20 days ago: 14 days from then is 6 days past
    const shipped = new Date(Date.now() - 20 * 86_400_000).toISOString();
    await h.gateway.store.db.updateTable('orders').set({ shipped_at: shipped }).where('id', '=', order.id).execute();
    const due = addDays(moscowDate(shipped), 14);
    expect(await list('overdue')).toMatchObject({ dueDate: due, daysOverdue: 6, amount: 350000 });
  });

  test('an invoice paid meanwhile gets no reminder and is not overdue', async () => {
    const { payment, dueDate, number } = await invoice();
    await h.gateway.store.db.updateTable('payments').set({ status: 'paid' }).where('id', '=', payment.id).execute();
    await checkInvoicesDue(h.gateway.deps, dueDate);
    await checkInvoicesDue(h.gateway.deps, addDays(dueDate, 5));
    await new Promise((r) => setTimeout(r, 300));
    expect(lines(`счёт № ${number} от`)).toEqual([]);
    const overdue = (await h.call('GET', '/api/v1/admin/invoices?state=overdue', undefined, ADMIN_AUTH)).body.items;
    expect(overdue.map((i: { number: string }) => i.number)).not.toContain(number);
  });
});
