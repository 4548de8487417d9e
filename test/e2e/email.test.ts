import { checkInvoicesDue } from '../../gateway/flows/invoices/due';
import { addDays } from '../../gateway/flows/payments/invoice';
import { ADMIN_AUTH, eventually, orderBody, SITE_AUTH, startHarness, type Harness } from '../helpers/harness';
import { TestInbox } from '../helpers/smtp';

/** E-mail through a real SMTP server: support's alerts, buyers' reminders with the invoice, a server that says «later» or «no». */

const BANK = { name: 'ПАО Сбербанк', bic: '044525225', account: '40702810938000000001', correspondentAccount: '30101810400000000225' };
const buyer = { type: 'legal', name: 'ООО «Вектор & Ко»', inn: '7701234560', email: 'buh@vector.example' };
const ru = (d: string) => d.split('-').reverse().join('.');
const SMTP_USER = 'gateway@shop.example';
const SMTP_PASSWORD = 'smtp-Pa55word-never-logged';

describe('e-mail', () => {
  let h: Harness;
  let inbox: TestInbox;
  beforeAll(async () => {
    inbox = await new TestInbox({ auth: { user: SMTP_USER, password: SMTP_PASSWORD } }).start();
    const smtp = { host: '127.0.0.1', port: inbox.port, requireTLS: false, user: SMTP_USER, password: SMTP_PASSWORD, timeoutMs: 5000 };
    h = await startHarness({
      overrides: (raw) => {
        raw.exchange.bases = [];
        raw.organizations[0].payments.invoice = { bank: BANK, payWithinDays: 10, remindDaysBefore: 3 };
        raw.organizations[0].buyerEmail = {
          smtp: { ...smtp, from: 'ООО «Ромашка» <billing@romashka.example>' },
          replyTo: 'buh@romashka.example',
        };
        raw.alerts = {
          channels: [
            { type: 'log' },
            {
              type: 'email',
              smtp: { ...smtp, from: 'Шлюз оплат <alerts@shop.example>' },
              to: ['support@shop.example', 'duty@shop.example'],
            },
          ],
        };
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    await inbox?.stop();
  });
  afterEach(() => {
    inbox.refuse = null;
    inbox.unknown = [];
  });

  async function invoice() {
    const order = (await h.call('POST', '/api/v1/orders', orderBody({ customer: buyer }), SITE_AUTH)).body;
    const payment = (
      await h.call(
        'POST',
        `/api/v1/orders/${order.id}/payments`,
        { method: 'invoice' },
        { ...SITE_AUTH, 'idempotency-key': `i-${order.id}` },
      )
    ).body;
    return { order, payment, ...(payment.action as { number: string; date: string; dueDate: string; document: string }) };
  }
  /** Earlier tests' invoices paid: the day's check reminds of this one only. */
  const onlyOpen = (paymentId: string) =>
    h.gateway.store.db
      .updateTable('payments')
      .set({ status: 'paid' })
      .where('status', '=', 'pending')
      .where('id', '!=', paymentId)
      .execute();
  const overdueMails = (number: string) =>
    inbox.withSubject('Просрочена оплата счёта').filter((m) => (m.text ?? '').includes(`№ ${number} `));
  /** What the log channel wrote of the alert (a channel that failed writes its own error line, not counted here). */
  const overdueLogs = (paymentId: string) =>
    h.logs.filter((l) => l.includes('"channel":"alerts"') && l.includes('Просрочена оплата счёта') && l.includes(paymentId));

  test('an alert reaches support by e-mail (subject, text, escaped HTML, thread headers) and the log as well', async () => {
    const { number, dueDate, payment } = await invoice();
    await onlyOpen(payment.id);
    await checkInvoicesDue(h.gateway.deps, addDays(dueDate, 1));
    await eventually(async () => overdueMails(number).length === 1);
    const [mail] = overdueMails(number);
    expect(mail.subject).toBe('[warning] Просрочена оплата счёта');
    expect(mail.from?.value[0]).toEqual({ name: 'Шлюз оплат', address: 'alerts@shop.example' });
    expect(Array.isArray(mail.to) ? mail.to.map((t) => t.text) : mail.to?.text).toBe('support@shop.example, duty@shop.example');
    expect(mail.text).toContain(`срок был ${ru(dueDate)}, просрочка 1 дн.`);
    expect(mail.text).toContain(`paymentId: ${payment.id}`);
    expect(mail.html).toContain('<h2>Просрочена оплата счёта</h2>');
    expect(mail.html).toContain('ООО «Вектор &amp; Ко»');
    expect(mail.messageId).toMatch(/^<alert\.[0-9a-f]{24}@shop\.example>$/);
    expect(mail.inReplyTo).toMatch(/^<alert\.[0-9a-f]{24}@shop\.example>$/);
    expect(mail.references).toBe(mail.inReplyTo);
    expect(overdueLogs(payment.id)).toHaveLength(1);
    expect(inbox.logins.at(-1)).toEqual({ user: SMTP_USER, password: SMTP_PASSWORD });
    expect(h.logs.join('\n')).not.toContain(SMTP_PASSWORD);
  });

  test('the buyer is reminded by e-mail with the invoice PDF attached and the link to it', async () => {
    const { number, date, dueDate, document, payment } = await invoice();
    await onlyOpen(payment.id);
    await checkInvoicesDue(h.gateway.deps, addDays(dueDate, -3));
    const subject = `Напоминание об оплате счёта № ${number} от ${ru(date)}`;
    await eventually(async () => inbox.withSubject(subject).length === 1, 20_000);
    // the log has neither the buyer's address nor the invoice's secret link
    expect(h.logs.join('\n')).not.toContain('buh@vector.example');
    expect(h.logs.join('\n')).not.toContain(document.split('/').pop()!);
    const [mail] = inbox.withSubject(subject);
    expect(mail.subject).toBe(subject);
    expect(mail.from?.value[0]).toEqual({ name: 'ООО «Ромашка»', address: 'billing@romashka.example' });
    expect(mail.replyTo?.text).toBe('buh@romashka.example');
    expect(Array.isArray(mail.to) ? undefined : mail.to?.value[0].address).toBe('buh@vector.example');
    expect(mail.text).toContain(`нужно оплатить до ${ru(dueDate)}`);
    expect(mail.text).toContain('3\u00a0500,00\u00a0₽');
    expect(mail.text).toContain('Счёт во вложении.');
    expect(mail.text).toContain(document);
    expect(mail.html).toContain(`<a href="${document}">`);
    expect(mail.attachments).toHaveLength(1);
    const pdf = mail.attachments[0];
    expect(pdf.contentType).toBe('application/pdf');
    expect(pdf.filename).toMatch(/^schet-.+\.pdf$/);
    expect(pdf.content.subarray(0, 4).toString('latin1')).toBe('%PDF');
    expect(pdf.size).toBeGreaterThan(5_000);
  });

  test('a server answering 451 (try later): the job retries and the message arrives once', async () => {
    inbox.refuse = { code: 451, message: 'Greylisted, please try again later', times: 1 };
    const { number, dueDate, payment } = await invoice();
    await onlyOpen(payment.id);
    await checkInvoicesDue(h.gateway.deps, addDays(dueDate, 1));
    await eventually(async () => overdueMails(number).length === 1, 15_000);
    expect(inbox.refuse).toEqual(expect.objectContaining({ times: 0 }));
    expect(h.logs.some((l) => l.includes('job failed, will retry') && l.includes('451'))).toBe(true);
    await new Promise((r) => setTimeout(r, 1500));
    expect(overdueMails(number)).toHaveLength(1);
  });

  test('a server refusing with 550: the e-mail job is dead with the server’s answer, the log channel still has the alert', async () => {
    inbox.refuse = { code: 550, message: 'Mailbox unavailable', times: 1000 };
    const { number, dueDate, payment } = await invoice();
    await onlyOpen(payment.id);
    await checkInvoicesDue(h.gateway.deps, addDays(dueDate, 1));
    const dead = async () =>
      (await h.call('GET', '/api/v1/admin/jobs?status=dead&name=alert.send', undefined, ADMIN_AUTH)).body.items.filter(
        (j: { payload: { alert: { context: { paymentId: string } } } }) => j.payload.alert.context.paymentId === payment.id,
      );
    await eventually(async () => (await dead()).length === 1);
    const [job] = await dead();
    expect(job.attempts).toBe(1);
    expect(job.lastError).toContain('550');
    expect(job.lastError).toContain('Mailbox unavailable');
    expect(overdueLogs(payment.id)).toHaveLength(1);
    expect(overdueMails(number)).toHaveLength(0);
  });

  test('one of support’s addresses refused: the other gets the alert once, the job stops with the refused address', async () => {
    inbox.unknown = ['duty@shop.example'];
    const { number, dueDate, payment } = await invoice();
    await onlyOpen(payment.id);
    await checkInvoicesDue(h.gateway.deps, addDays(dueDate, 1));
    const dead = async () =>
      (await h.call('GET', '/api/v1/admin/jobs?status=dead&name=alert.send', undefined, ADMIN_AUTH)).body.items.filter(
        (j: { payload: { alert: { context: { paymentId: string } } } }) => j.payload.alert.context.paymentId === payment.id,
      );
    await eventually(async () => (await dead()).length === 1);
    expect((await dead())[0].lastError).toContain('refused duty@shop.example (the others got the message)');
    expect(overdueMails(number)).toHaveLength(1);
    expect((overdueMails(number)[0].to as { text: string }).text).toBe('support@shop.example, duty@shop.example');
  });

  test('a reminder the buyer’s server refuses (550): the job is dead and support gets «[critical] Задание не выполнено» by e-mail', async () => {
    inbox.refuse = { code: 550, message: '5.1.1 No such user', times: 1000, to: 'buh@vector.example' };
    const { dueDate, payment } = await invoice();
    await onlyOpen(payment.id);
    await checkInvoicesDue(h.gateway.deps, addDays(dueDate, -3));
    const dead = async () =>
      (await h.call('GET', '/api/v1/admin/jobs?status=dead&name=invoice.remind', undefined, ADMIN_AUTH)).body.items.filter(
        (j: { payload: { paymentId: string } }) => j.payload.paymentId === payment.id,
      );
    await eventually(async () => (await dead()).length === 1, 20_000);
    const [job] = await dead();
    expect(job.lastError).toContain('550 5.1.1 No such user');
    const critical = () =>
      inbox.withSubject('[critical] Задание не выполнено: invoice.remind').filter((m) => (m.text ?? '').includes(job.id));
    await eventually(async () => critical().length === 1);
    expect(critical()[0].text).toContain('No such user');
  }, 60_000);

  test('an SMTP server that is down: the reminder is retried until it is back, then arrives once', async () => {
    const { number, date, dueDate, payment } = await invoice();
    await onlyOpen(payment.id);
    const port = inbox.port;
    await inbox.stop();
    await checkInvoicesDue(h.gateway.deps, dueDate);
    await eventually(async () => h.logs.some((l) => l.includes('job failed, will retry') && l.includes('invoice.remind')), 15_000);
    await inbox.start(port);
    const subject = `Сегодня срок оплаты счёта № ${number} от ${ru(date)}`;
    await eventually(async () => inbox.withSubject(subject).length === 1, 40_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(inbox.withSubject(subject)).toHaveLength(1);
  }, 90_000);
});
