import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { checkInvoicesDue } from '../../gateway/flows/invoices/due';
import type { ApiRouter } from '../../gateway/http/api';
import { jsonBody, readBody } from '../../gateway/http/middleware';
import type { Gateway } from '../../gateway/main';
import type { TestInbox } from '../helpers/smtp';

/** What the sandbox's own site and support receive from the gateway: its site webhooks and its alerts. */
export interface SandboxInbox {
  site: { receivedAt: string; signatureValid: boolean; body: any }[];
  alerts: { receivedAt: string; body: any }[];
}

function signatureValid(secret: string, raw: Buffer, header: string | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`);
  const got = Buffer.from(header ?? '');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

const dueCheck = z.object({ today: z.iso.date().meta({ description: 'The day to check the due dates as of, YYYY-MM-DD' }) });

/**
 * The sandbox plays the shop's site and its support: the gateway's site webhooks land at
 * POST /sandbox/site/webhooks (the signature checked with the site's secret) and its alerts at
 * POST /sandbox/alerts; GET on either lists what came, oldest first. POST /sandbox/invoices/check-due
 * {"today": "YYYY-MM-DD"} runs the invoices' due-date check as of another day (reminders, overdue
 * alerts), so the overdue path is seen without waiting for it.
 */
export function inboxRoutes(api: ApiRouter, gw: Gateway, secrets: { site: string }): SandboxInbox {
  const inbox: SandboxInbox = { site: [], alerts: [] };
  api.route(
    {
      method: 'post',
      path: '/sandbox/site/webhooks',
      summary: 'Sandbox: the shop’s site receiving the gateway’s webhooks',
      tag: 'sandbox',
      auth: 'none',
      responses: { 200: { description: 'Received' } },
    },
    async (ctx) => {
      const raw = await readBody(ctx, 1024 * 1024);
      inbox.site.push({
        receivedAt: new Date().toISOString(),
        signatureValid: signatureValid(secrets.site, raw, ctx.get('x-signature') || undefined),
        body: JSON.parse(raw.toString('utf8')),
      });
      ctx.body = { ok: true };
    },
  );
  api.route(
    {
      method: 'get',
      path: '/sandbox/site/webhooks',
      summary: 'Sandbox: the webhooks the shop’s site received, oldest first',
      tag: 'sandbox',
      auth: 'none',
      responses: { 200: { description: 'Webhooks' } },
    },
    async (ctx) => {
      ctx.body = { items: inbox.site };
    },
  );
  api.route(
    {
      method: 'post',
      path: '/sandbox/alerts',
      summary: 'Sandbox: support receiving the gateway’s alerts (the webhook alert channel)',
      tag: 'sandbox',
      auth: 'none',
      responses: { 200: { description: 'Received' } },
    },
    async (ctx) => {
      const raw = await readBody(ctx, 1024 * 1024);
      inbox.alerts.push({ receivedAt: new Date().toISOString(), body: JSON.parse(raw.toString('utf8')) });
      ctx.body = { ok: true };
    },
  );
  api.route(
    {
      method: 'get',
      path: '/sandbox/alerts',
      summary: 'Sandbox: the alerts support received, oldest first',
      tag: 'sandbox',
      auth: 'none',
      responses: { 200: { description: 'Alerts' } },
    },
    async (ctx) => {
      ctx.body = { items: inbox.alerts };
    },
  );
  api.route(
    {
      method: 'post',
      path: '/sandbox/invoices/check-due',
      summary: 'Sandbox: the invoices’ due-date check (reminders, overdue alerts) as of another day',
      tag: 'sandbox',
      auth: 'none',
      body: dueCheck,
      responses: { 200: { description: 'Checked; what it queued runs at once' } },
    },
    async (ctx) => {
      const { today } = await jsonBody(ctx, dueCheck, 1024);
      await checkInvoicesDue(gw.deps, today);
      ctx.body = { checked: today };
    },
  );
  return inbox;
}

/** An e-mail as support's mailbox in the sandbox received it. */
export interface SandboxMail {
  receivedAt: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  messageId: string | null;
  inReplyTo: string | null;
}

/**
 * GET /sandbox/email: the e-mails the sandbox's SMTP server (support's mailbox, the e-mail alert
 * channel's server) received, oldest first.
 */
export function emailRoutes(api: ApiRouter, mailbox: TestInbox): void {
  api.route(
    {
      method: 'get',
      path: '/sandbox/email',
      summary: 'Sandbox: the e-mails support’s mailbox received (the e-mail alert channel, over SMTP), oldest first',
      tag: 'sandbox',
      auth: 'none',
      responses: { 200: { description: 'E-mails' } },
    },
    async (ctx) => {
      const items: SandboxMail[] = mailbox.messages.map((m, i) => ({
        receivedAt: mailbox.receivedAt[i] ?? '',
        from: m.from?.text ?? '',
        to: (Array.isArray(m.to) ? m.to : m.to ? [m.to] : []).map((t) => t.text).join(', '),
        subject: m.subject ?? '',
        text: m.text ?? '',
        messageId: m.messageId ?? null,
        inReplyTo: m.inReplyTo ?? null,
      }));
      ctx.body = { items };
    },
  );
}
