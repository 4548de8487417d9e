import { createHash } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import type Mail from 'nodemailer/lib/mailer';
import { ExternalError, type Alert, type BuyerMessage, type BuyerMessenger, type Notifier } from '../../gateway/ports';
import type { BuyerEmailConfig, EmailChannelConfig, SmtpConfig } from './config';

/** What an e-mail is made of before it goes to the server (what the tests look at). */
export interface OutgoingMail {
  from: string;
  to: string | string[];
  replyTo?: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  /** The message the thread hangs on (`In-Reply-To` and `References`). */
  thread?: string;
  attachments?: { filename: string; content: Buffer; contentType: string }[];
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const short = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 24);

/** The domain of the sender's address: Message-IDs are made under it. */
export function senderDomain(from: string): string {
  const address = /<([^>]+)>/.exec(from)?.[1] ?? from;
  return address.split('@')[1]?.trim() || 'onec-gateway.local';
}

/**
 * An alert as an e-mail: «[critical] <title>», the text and its context as text and as (escaped) HTML.
 * Every alert of one key refers to the same root message, so a mail client shows them as one thread;
 * the message's own id is the same on every retry within the hour.
 */
export function alertMail(alert: Alert, cfg: { from: string; to: string[] }, now = new Date()): OutgoingMail {
  const domain = senderDomain(cfg.from);
  const root = `<alert.${short(alert.key)}@${domain}>`;
  const hour = now.toISOString().slice(0, 13);
  const context = Object.entries(alert.context ?? {});
  const text = [
    alert.text,
    ...(context.length ? ['', ...context.map(([k, v]) => `${k}: ${v ?? '—'}`)] : []),
    '',
    `Ключ: ${alert.key}`,
  ].join('\n');
  const rows = context.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(String(v ?? '—'))}</td></tr>`).join('');
  const html =
    `<!doctype html><html><body>` +
    `<h2>${escapeHtml(alert.title)}</h2>` +
    `<p>${escapeHtml(alert.text).replace(/\n/g, '<br>')}</p>` +
    (rows ? `<table cellpadding="4">${rows}</table>` : '') +
    `<p style="color:#777">Ключ: ${escapeHtml(alert.key)}</p></body></html>`;
  return {
    from: cfg.from,
    to: cfg.to,
    subject: `[${alert.severity}] ${alert.title}`,
    text,
    html,
    messageId: `<alert.${short(`${alert.key}\n${hour}\n${alert.text}`)}@${domain}>`,
    thread: root,
  };
}

/** A message to a buyer as an e-mail: the text, the link (as a link in HTML), the attachments. */
export function buyerMail(m: BuyerMessage & { to: { email: string } }, cfg: { from: string; replyTo?: string }): OutgoingMail {
  const domain = senderDomain(cfg.from);
  const link = m.link;
  const text = link ? `${m.text}\n\n${link.text}: ${link.url}` : m.text;
  const html =
    `<!doctype html><html><body>` +
    m.text
      .split(/\n{2,}/)
      .map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>')}</p>`)
      .join('') +
    (link ? `<p><a href="${escapeHtml(link.url)}">${escapeHtml(link.text)}</a></p>` : '') +
    `</body></html>`;
  return {
    from: cfg.from,
    to: m.to.name ? `"${m.to.name.replace(/["\\\r\n]/g, '')}" <${m.to.email}>` : m.to.email,
    ...(cfg.replyTo ? { replyTo: cfg.replyTo } : {}),
    subject: m.subject,
    text,
    html,
    messageId: `<buyer.${short(m.id ?? `${m.organizationId}\n${m.to.email}\n${m.subject}\n${m.text}`)}@${domain}>`,
    ...(m.attachments?.length ? { attachments: m.attachments.map((a) => ({ ...a })) } : {}),
  };
}

/**
 * One SMTP server, one pooled transport (its connections reused by every message). The server's
 * refusal (5xx) is final, with its answer; a 4xx, a refused connection or a timeout is retried.
 */
export class SmtpMailer {
  private readonly transport: Transporter<SMTPPool.SentMessageInfo>;
  readonly server: string;

  constructor(cfg: SmtpConfig) {
    this.server = `${cfg.host}:${cfg.port}`;
    this.transport = nodemailer.createTransport({
      pool: true,
      maxConnections: cfg.maxConnections,
      maxMessages: 100,
      host: cfg.host,
      port: cfg.port,
      secure: cfg.secure,
      // a password never crosses the network in the clear unless told so
      requireTLS: cfg.requireTLS ?? (!cfg.secure && cfg.user !== undefined),
      ...(cfg.user && cfg.password ? { auth: { user: cfg.user, pass: cfg.password } } : {}),
      connectionTimeout: cfg.timeoutMs,
      greetingTimeout: cfg.timeoutMs,
      socketTimeout: cfg.timeoutMs,
      logger: false,
      debug: false,
    } satisfies SMTPPool.Options);
  }

  async send(mail: OutgoingMail): Promise<void> {
    const message: Mail.Options = {
      from: mail.from,
      to: mail.to,
      ...(mail.replyTo ? { replyTo: mail.replyTo } : {}),
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      messageId: mail.messageId,
      ...(mail.thread ? { inReplyTo: mail.thread, references: [mail.thread] } : {}),
      ...(mail.attachments ? { attachments: mail.attachments } : {}),
    };
    let info: SMTPPool.SentMessageInfo;
    try {
      info = await this.transport.sendMail(message);
    } catch (e) {
      throw smtpError(this.server, e);
    }
    // some addresses taken, some refused: sending again would repeat it to the others, so it stops here, visibly
    const rejected = ((info.rejected ?? []) as (string | Mail.Address)[]).map((a) => (typeof a === 'string' ? a : a.address));
    if (rejected.length > 0)
      throw new ExternalError('smtp', `SMTP ${this.server} refused ${rejected.join(', ')} (the others got the message)`, {
        retryable: false,
        code: 'rejected',
      });
  }

  close(): void {
    this.transport.close();
  }
}

/** A failure of nodemailer as the jobs understand it: a 5xx answer is final, anything else is tried again. */
export function smtpError(server: string, e: unknown): ExternalError {
  const err = e as { code?: string; responseCode?: number; response?: string; message?: string };
  const answer = (err.response ?? err.message ?? String(e)).trim();
  if (typeof err.responseCode === 'number' && err.responseCode >= 500)
    return new ExternalError('smtp', `SMTP ${server} refused the message: ${answer}`, { retryable: false, code: String(err.responseCode) });
  return new ExternalError('smtp', `SMTP ${server}: ${answer}`, {
    retryable: true,
    code: err.responseCode ? String(err.responseCode) : err.code,
  });
}

/** Alerts by e-mail to support's addresses. */
export class EmailNotifier implements Notifier {
  readonly name = 'email';
  constructor(
    private readonly mailer: SmtpMailer,
    private readonly cfg: EmailChannelConfig,
  ) {}
  async send(alert: Alert): Promise<void> {
    await this.mailer.send(alertMail(alert, { from: this.cfg.smtp.from, to: this.cfg.to }));
  }
}

/**
 * Messages to buyers by e-mail for the organizations that have it set up; the others' messages, and
 * a buyer without an address, go to the fallback (the log).
 */
export class EmailBuyerMessenger implements BuyerMessenger {
  readonly name = 'email';
  constructor(
    private readonly byOrganization: ReadonlyMap<string, { mailer: SmtpMailer; cfg: BuyerEmailConfig }>,
    private readonly fallback: BuyerMessenger,
  ) {}
  carriesAttachments(organizationId: string): boolean {
    return this.byOrganization.has(organizationId);
  }
  async send(m: BuyerMessage): Promise<void> {
    const channel = this.byOrganization.get(m.organizationId);
    const email = m.to.email;
    if (!channel || !email) return this.fallback.send(m);
    await channel.mailer.send(buyerMail({ ...m, to: { ...m.to, email } }, { from: channel.cfg.smtp.from, replyTo: channel.cfg.replyTo }));
  }
}
