import { buyerEmailConfig, alertChannelConfig } from '../../../../connectors/notify/config';
import {
  alertMail,
  buyerMail,
  EmailBuyerMessenger,
  senderDomain,
  smtpError,
  type OutgoingMail,
  type SmtpMailer,
} from '../../../../connectors/notify/email';
import { LogBuyerMessenger } from '../../../../connectors/notify/buyer-log';
import type { Alert, BuyerMessage } from '../../../../gateway/ports';

const alert: Alert = {
  severity: 'critical',
  key: 'onec-down:main',
  title: 'База 1С <main> недоступна',
  text: 'Платежи ждут в очереди & будут отправлены.\nПроверьте публикацию.',
  context: { organizationId: 'main', queued: 12, note: '<script>alert(1)</script>', none: null },
};
const cfg = { from: 'Шлюз оплат <alerts@shop.example>', to: ['support@shop.example'] };

describe('an alert as an e-mail', () => {
  test('subject «[severity] title», the text with its context, the HTML escaped', () => {
    const m = alertMail(alert, cfg, new Date('2026-12-04T10:15:00Z'));
    expect(m.subject).toBe('[critical] База 1С <main> недоступна');
    expect(m.from).toBe('Шлюз оплат <alerts@shop.example>');
    expect(m.to).toEqual(['support@shop.example']);
    expect(m.text).toBe(
      'Платежи ждут в очереди & будут отправлены.\nПроверьте публикацию.\n\norganizationId: main\nqueued: 12\nnote: <script>alert(1)</script>\nnone: —\n\nКлюч: onec-down:main',
    );
    expect(m.html).toContain('<h2>База 1С &lt;main&gt; недоступна</h2>');
    expect(m.html).toContain('<p>Платежи ждут в очереди &amp; будут отправлены.<br>Проверьте публикацию.</p>');
    expect(m.html).toContain('<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>');
    expect(m.html).not.toContain('<script>');
  });

  test('alerts of one key thread under one root; the id is the same on a retry within the hour, new the next hour', () => {
    const a = alertMail(alert, cfg, new Date('2026-12-04T10:15:00Z'));
    const retry = alertMail(alert, cfg, new Date('2026-12-04T10:59:00Z'));
    const later = alertMail(alert, cfg, new Date('2026-12-04T11:01:00Z'));
    const other = alertMail({ ...alert, key: 'onec-down:second' }, cfg, new Date('2026-12-04T10:15:00Z'));
    expect(a.messageId).toMatch(/^<alert\.[0-9a-f]{24}@shop\.example>$/);
    expect(retry.messageId).toBe(a.messageId);
    expect(later.messageId).not.toBe(a.messageId);
    expect(later.thread).toBe(a.thread);
    expect(other.thread).not.toBe(a.thread);
    expect(a.thread).not.toBe(a.messageId);
  });

  test('the Message-ID domain is the sender’s', () => {
    expect(senderDomain('Шлюз <alerts@shop.example>')).toBe('shop.example');
    expect(senderDomain('alerts@mail.shop.example')).toBe('mail.shop.example');
  });
});

describe('a buyer’s message as an e-mail', () => {
  const pdf = Buffer.from('%PDF-1.7 …');
  const m = {
    id: 'invoice-remind:inv-1:before:2026-12-14',
    organizationId: 'main',
    to: { name: 'ООО "Вектор"', email: 'buh@vector.example' },
    subject: 'Напоминание об оплате счёта № 7 от 04.12.2026',
    text: 'Напоминаем: счёт № 7 на 3 500,00 ₽ нужно оплатить до 14.12.2026. <ООО «Ромашка»>',
    link: { text: 'Счёт и реквизиты для оплаты', url: 'https://pay.example/invoices/abc?x=1&y=2' },
    attachments: [{ filename: 'schet-7.pdf', content: pdf, contentType: 'application/pdf' }],
  };

  test('the text with the link, the HTML with the link escaped, the PDF attached, replies to the accountant', () => {
    const mail = buyerMail(m, { from: 'ООО «Ромашка» <billing@romashka.example>', replyTo: 'buh@romashka.example' });
    expect(mail.to).toBe('"ООО Вектор" <buh@vector.example>');
    expect(mail.replyTo).toBe('buh@romashka.example');
    expect(mail.subject).toBe('Напоминание об оплате счёта № 7 от 04.12.2026');
    expect(mail.text).toBe(`${m.text}\n\nСчёт и реквизиты для оплаты: https://pay.example/invoices/abc?x=1&y=2`);
    expect(mail.html).toContain('&lt;ООО «Ромашка»&gt;');
    expect(mail.html).toContain('<a href="https://pay.example/invoices/abc?x=1&amp;y=2">Счёт и реквизиты для оплаты</a>');
    expect(mail.attachments).toEqual([{ filename: 'schet-7.pdf', content: pdf, contentType: 'application/pdf' }]);
    expect(mail.messageId).toMatch(/^<buyer\.[0-9a-f]{24}@romashka\.example>$/);
    expect(buyerMail(m, { from: 'billing@romashka.example' }).messageId).toBe(mail.messageId);
    expect(buyerMail({ ...m, id: 'invoice-remind:inv-1:due:2026-12-14' }, { from: 'billing@romashka.example' }).messageId).not.toBe(
      mail.messageId,
    );
  });

  test('the log channel shows the attachment’s name and size, not the link nor the address', () => {
    const lines: { obj: object; msg: string }[] = [];
    const log = { info: (obj: object, msg: string) => lines.push({ obj, msg }), warn: () => {}, error: () => {} };
    void new LogBuyerMessenger(log).send(m);
    const line = JSON.stringify(lines);
    expect(line).toContain(`"attachments":[{"filename":"schet-7.pdf","size":${pdf.length}}]`);
    expect(line).toContain('b***@vector.example');
    expect(line).not.toContain('buh@vector.example');
    expect(line).not.toContain('invoices/abc');
  });
});

describe('an SMTP failure for the jobs', () => {
  test('5xx: final, with the server’s answer', () => {
    const e = smtpError('smtp.example:587', { code: 'EMESSAGE', responseCode: 550, response: '550 5.1.1 Mailbox unavailable' });
    expect(e.retryable).toBe(false);
    expect(e.code).toBe('550');
    expect(e.message).toBe('SMTP smtp.example:587 refused the message: 550 5.1.1 Mailbox unavailable');
  });

  test('a wrong login (535) is final too', () => {
    expect(smtpError('s:25', { code: 'EAUTH', responseCode: 535, response: '535 Authentication failed' }).retryable).toBe(false);
  });

  test('4xx, a refused connection, a timeout: tried again', () => {
    expect(smtpError('s:25', { code: 'EMESSAGE', responseCode: 451, response: '451 Greylisted' })).toMatchObject({
      retryable: true,
      code: '451',
    });
    expect(smtpError('s:25', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:25'), { code: 'ESOCKET' }))).toMatchObject({
      retryable: true,
      code: 'ESOCKET',
      message: 'SMTP s:25: connect ECONNREFUSED 127.0.0.1:25',
    });
    expect(smtpError('s:25', Object.assign(new Error('Connection timeout'), { code: 'ETIMEDOUT' })).retryable).toBe(true);
  });
});

describe('the e-mail settings', () => {
  const smtp = { host: 'smtp.example', port: 465, secure: true, user: 'gw', password: 'secret', from: 'Шлюз оплат <alerts@shop.example>' };

  test('an alert channel with its defaults', () => {
    expect(alertChannelConfig.parse({ type: 'email', smtp, to: ['support@shop.example'] })).toEqual({
      type: 'email',
      smtp: { ...smtp, timeoutMs: 30_000, maxConnections: 2 },
      to: ['support@shop.example'],
    });
  });

  test('a user without a password, a sender that is no address, no recipients: clear errors', () => {
    const issues = (v: unknown) => alertChannelConfig.safeParse(v).error?.issues.map((i) => i.path.join('.'));
    expect(issues({ type: 'email', smtp: { ...smtp, password: undefined }, to: ['a@b.example'] })).toEqual(['smtp.password']);
    expect(issues({ type: 'email', smtp: { ...smtp, from: 'Шлюз оплат' }, to: ['a@b.example'] })).toEqual(['smtp.from']);
    expect(issues({ type: 'email', smtp, to: [] })).toEqual(['to']);
    expect(issues({ type: 'email', smtp, to: ['not an address'] })).toEqual(['to.0']);
    expect(buyerEmailConfig.safeParse({ smtp, replyTo: 'nope' }).success).toBe(false);
  });
});

describe('buyers’ messages by organization', () => {
  const sent: OutgoingMail[] = [];
  const logged: BuyerMessage[] = [];
  const mailer = { send: async (m: OutgoingMail) => void sent.push(m) } as unknown as SmtpMailer;
  const smtp = { host: 'smtp.example', port: 587, secure: false, from: 'billing@romashka.example', timeoutMs: 30_000, maxConnections: 2 };
  const messenger = new EmailBuyerMessenger(new Map([['main', { mailer, cfg: { smtp } }]]), {
    name: 'log',
    send: async (m) => void logged.push(m),
  });
  const message = (organizationId: string, email?: string): BuyerMessage => ({
    organizationId,
    to: { name: 'ООО «Вектор»', ...(email ? { email } : {}) },
    subject: 'Напоминание',
    text: 'Текст',
  });

  test('e-mail for an organization that has it, the log for one that has not and for a buyer without an address', async () => {
    await messenger.send(message('main', 'buh@vector.example'));
    await messenger.send(message('second', 'buh@vector.example'));
    await messenger.send(message('main'));
    expect(sent.map((m) => [m.from, m.to])).toEqual([['billing@romashka.example', '"ООО «Вектор»" <buh@vector.example>']]);
    expect(logged.map((m) => m.organizationId)).toEqual(['second', 'main']);
    expect(messenger.carriesAttachments('main')).toBe(true);
    expect(messenger.carriesAttachments('second')).toBe(false);
  });
});
