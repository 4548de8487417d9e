import { z } from 'zod';
import { notFound, unprocessable } from '../../gateway/errors';
import type { ApiRouter } from '../../gateway/http/api';
import { jsonBody } from '../../gateway/http/middleware';
import type { Gateway } from '../../gateway/main';
import { getPayment, paymentAttempts } from '../../gateway/store/payments';
import type { AtolDriverEmulator } from '../emulators/atol-driver/server';
import type { AtolOnlineEmulator } from '../emulators/atol-online/server';
import { importStatementIn1C } from '../emulators/onec/accountant';
import type { OneCEmulator } from '../emulators/onec/server';
import type { SberEmulator } from '../emulators/sber/server';
import type { TbankEmulator } from '../emulators/tbank/server';
import type { TelegramEmulator } from '../emulators/telegram/server';

const completeSchema = z.object({
  outcome: z.enum(['paid', 'declined']),
  /** СБП: the bank the customer pays from. */
  payerBank: z.string().max(100).optional(),
});

/**
 * POST /sandbox/bank/transfers — a company pays the sandbox organization by bank transfer: a posted
 * credit (a payment order) on the organization's account at the emulated T-Bank, which the gateway
 * reads from the T-Business statement API on its next poll (every 2 s in the sandbox).
 *   request  {"amount": 350000, "purpose": "Оплата по счету № СЧ-1 от 04.12.2026", "payerInn": "7701234560",
 *             "payerName": "ООО «Вектор»", "payerAccount": "40702810600000000777",
 *             "payerKpp"?: "770101001", "payerBic"?: "044525593", "payerBank"?: "АО «Альфа-Банк»", "number"?: "512", "uin"?: "…"}
 *            amount in kopecks; purpose as the payer wrote it (naming the invoice's number is what matches it)
 *   201      {"operationId", "accountNumber", "documentNumber", "operationDate", "amount" (kopecks)}
 *   422      no account at the emulated bank (the organization issues no invoices)
 */
const transferSchema = z.object({
  amount: z.number().int().positive().max(1_000_000_000_00),
  purpose: z.string().min(1).max(210),
  payerInn: z.string().regex(/^\d{10}(\d{2})?$/, '10 or 12 digits'),
  payerName: z.string().min(1).max(160),
  payerAccount: z.string().regex(/^\d{20}$/, '20 digits'),
  payerKpp: z
    .string()
    .regex(/^\d{9}$/, '9 digits')
    .optional(),
  payerBic: z
    .string()
    .regex(/^\d{9}$/, '9 digits')
    .optional(),
  payerBank: z.string().max(160).optional(),
  number: z
    .string()
    .regex(/^\d{1,6}$/, 'up to 6 digits')
    .optional(),
  uin: z.string().max(25).optional(),
});

/** Sandbox-only controls: act as the customer at the emulated bank, turn the bank's knobs. */
export function sandboxRoutes(
  api: ApiRouter,
  gw: Gateway,
  emulators: {
    sber: SberEmulator;
    tbank?: TbankEmulator;
    onec?: OneCEmulator;
    atol?: AtolOnlineEmulator;
    driver?: AtolDriverEmulator;
    telegram?: TelegramEmulator;
  },
): void {
  const { sber, tbank, onec, atol, driver } = emulators;
  if (atol) fiscalRoutes(api, atol, driver);
  if (emulators.telegram) telegramRoutes(api, emulators.telegram);
  api.route(
    {
      method: 'post',
      path: '/sandbox/payments/:id/complete',
      summary: 'Sandbox: the customer pays or is declined at the emulated provider, which then sends its signed callback(s)',
      tag: 'sandbox',
      auth: 'none',
      body: completeSchema,
      responses: { 200: { description: 'The provider completed the payment' } },
    },
    async (ctx) => {
      const { outcome, payerBank } = await jsonBody(ctx, completeSchema, 4096);
      const payment = await getPayment(gw.store.db, ctx.params.id);
      if (!payment) throw notFound('payment');
      const attempts = await paymentAttempts(gw.store.db, payment.id);
      const atSber = attempts.find((a) => a.provider === 'sber' && a.provider_ref && sber.orders.has(a.provider_ref));
      const atTbank = tbank && attempts.find((a) => a.provider === 'tbank' && a.provider_ref && tbank.payments.has(a.provider_ref));
      if (atSber) {
        const order = sber.complete(atSber.provider_ref!, outcome, { payerBank });
        ctx.body = { paymentId: payment.id, provider: payment.provider, providerOrderId: order.mdOrder, providerStatus: order.orderStatus };
        return;
      }
      if (!atTbank) throw unprocessable('no_provider_order', 'the payment has no order at the emulated provider');
      const pay = tbank!.complete(atTbank.provider_ref!, outcome, { payerBank });
      ctx.body = { paymentId: payment.id, provider: payment.provider, providerOrderId: pay.paymentId, providerStatus: pay.status };
    },
  );

  if (tbank) bankRoutes(api, tbank);
  knobRoutes(api, 'sber', 'the emulated Sber', sber);
  if (tbank) knobRoutes(api, 'tbank', 'the emulated T-Bank', tbank);

  if (!onec) return;
  api.route(
    {
      method: 'get',
      path: '/sandbox/onec',
      summary: 'Sandbox: what the emulated 1C holds (orders, payment documents with their posting state and the order they settle)',
      tag: 'sandbox',
      auth: 'none',
      responses: { 200: { description: 'Snapshot' } },
    },
    async (ctx) => {
      ctx.body = onec.snapshot();
    },
  );
  api.route(
    {
      method: 'post',
      path: '/sandbox/onec/knobs',
      summary: 'Sandbox: the emulated 1C’s knobs (latencyMs, failRate, lockConflictRate, down, downUntil, rejectPosting, denyWrites)',
      tag: 'sandbox',
      auth: 'none',
      body: z.record(z.string(), z.unknown()),
      responses: { 200: { description: 'Knobs' } },
    },
    async (ctx) => {
      onec.setKnobs(await jsonBody(ctx, z.record(z.string(), z.unknown()), 4096));
      ctx.body = onec.knobs;
    },
  );
  api.route(
    {
      method: 'post',
      path: '/sandbox/onec/bank-receipts',
      summary:
        'Sandbox: the accountant imports a statement into the emulated 1C — a posted incoming bank receipt (payment order number and date, payer by ИНН, purpose, УИП), settling the 1C order named',
      tag: 'sandbox',
      auth: 'none',
      body: accountantImportSchema,
      responses: { 200: { description: 'The document in 1C' }, 422: { description: 'No such order in 1C' } },
    },
    async (ctx) => {
      const b = await jsonBody(ctx, accountantImportSchema, 8192);
      let orderRef: string | undefined;
      if (b.orderNumber) {
        const set = onec.configuration === 'unf' ? 'Document_ЗаказПокупателя' : 'Document_ЗаказКлиента';
        orderRef = onec.list(set).find((o) => o.Number === b.orderNumber && o.DeletionMark !== true)?.Ref_Key as string | undefined;
        if (!orderRef) throw unprocessable('no_onec_order', `the emulated 1C has no order ${b.orderNumber}`);
      }
      const doc = await importStatementIn1C(onec, {
        number: b.number,
        date: b.date ?? new Date().toISOString().slice(0, 10),
        amount: b.amount / 100,
        payer: { inn: b.payerInn, kpp: b.payerKpp, name: b.payerName },
        purpose: b.purpose,
        uip: b.uip,
        orderRef,
        posted: b.posted,
      });
      ctx.body = {
        ...doc,
        entity: onec.configuration === 'unf' ? 'Document_ПоступлениеНаСчет' : 'Document_ПоступлениеБезналичныхДенежныхСредств',
      };
    },
  );
}

const accountantImportSchema = z.object({
  /** The payment order's number and date (yyyy-mm-dd, default today). */
  number: z.string().min(1).max(11),
  date: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .optional(),
  /** Kopecks. */
  amount: z.number().int().positive(),
  payerInn: z.string().regex(/^\d{10}(\d{2})?$/),
  payerKpp: z
    .string()
    .regex(/^\d{9}$/)
    .optional(),
  payerName: z.string().min(1).max(100),
  purpose: z.string().max(210),
  uip: z.string().max(25).optional(),
  /** The 1C order's number the payment settles. */
  orderNumber: z.string().optional(),
  posted: z.boolean().optional(),
});

const knobs = z.record(z.string(), z.unknown());

/** The emulated T-Bank account's side: money transferred to it, and what its statement holds. */
function bankRoutes(api: ApiRouter, tbank: TbankEmulator): void {
  api.route(
    {
      method: 'post',
      path: '/sandbox/bank/transfers',
      summary:
        'Sandbox: a company pays by bank transfer: a credit on the organization’s account at the emulated T-Bank, read by the gateway from the T-Business statement API',
      tag: 'sandbox',
      auth: 'none',
      body: transferSchema,
      responses: { 201: { description: 'The credit operation in the statement' }, 422: { description: 'No account at the emulated bank' } },
    },
    async (ctx) => {
      const t = await jsonBody(ctx, transferSchema, 4096);
      if (tbank.statement.accounts.length === 0) throw unprocessable('no_account', 'the emulated bank has no account of the organization');
      const op = tbank.statement.add({
        amount: t.amount,
        purpose: t.purpose,
        counterparty: {
          name: t.payerName,
          inn: t.payerInn,
          kpp: t.payerKpp,
          account: t.payerAccount,
          bic: t.payerBic ?? '044525593',
          bankName: t.payerBank ?? 'АО «Альфа-Банк»',
        },
        documentNumber: t.number,
        uin: t.uin,
      });
      ctx.status = 201;
      ctx.body = {
        operationId: op.operationId,
        accountNumber: op.accountNumber,
        documentNumber: op.documentNumber,
        operationDate: op.operationDate,
        amount: t.amount,
      };
    },
  );
  api.route(
    {
      method: 'get',
      path: '/sandbox/bank/statement',
      summary: 'Sandbox: the operations of the emulated T-Bank account’s statement, and the requests the gateway made for it',
      tag: 'sandbox',
      auth: 'none',
      responses: { 200: { description: 'Snapshot' } },
    },
    async (ctx) => {
      ctx.body = { operations: tbank.statement.entries.map((e) => e.op), requests: tbank.statement.requests.slice(-50) };
    },
  );
}

/** GET and POST /sandbox/{name}/knobs: read and turn an emulator's knobs (e.g. {"callbacks":"off"} to lose callbacks). */
function knobRoutes(api: ApiRouter, name: string, what: string, emulator: { knobs: object }): void {
  api.route(
    {
      method: 'get',
      path: `/sandbox/${name}/knobs`,
      summary: `Sandbox: ${what}’s knobs`,
      tag: 'sandbox',
      auth: 'none',
      responses: { 200: { description: 'Knobs' } },
    },
    async (ctx) => {
      ctx.body = emulator.knobs;
    },
  );
  api.route(
    {
      method: 'post',
      path: `/sandbox/${name}/knobs`,
      summary: `Sandbox: change ${what}’s knobs (e.g. {"callbacks":"off"} to lose callbacks)`,
      tag: 'sandbox',
      auth: 'none',
      body: knobs,
      responses: { 200: { description: 'Knobs' } },
    },
    async (ctx) => {
      Object.assign(emulator.knobs, await jsonBody(ctx, knobs, 4096));
      ctx.body = emulator.knobs;
    },
  );
}

/** The emulated registers: what they hold, and their knobs. */
function fiscalRoutes(api: ApiRouter, atol: AtolOnlineEmulator, driver?: AtolDriverEmulator): void {
  api.route(
    {
      method: 'get',
      path: '/sandbox/fiscal',
      summary: 'Sandbox: the receipts the emulated registers hold (ATOL Online; the shop’s local register)',
      tag: 'sandbox',
      auth: 'none',
      responses: { 200: { description: 'Snapshot' } },
    },
    async (ctx) => {
      ctx.body = { atolOnline: { receipts: atol.snapshot(), stats: atol.stats }, ...(driver ? { driver: driver.snapshot() } : {}) };
    },
  );
  api.route(
    {
      method: 'post',
      path: '/sandbox/atol/knobs',
      summary:
        'Sandbox: the emulated ATOL Online’s knobs (processingMs, failNext, rejectNext, callbacks on|off, callbackDelayMs, down, tokenRefused, answerDelayMs, expireTokens: true)',
      tag: 'sandbox',
      auth: 'none',
      body: knobs,
      responses: { 200: { description: 'Knobs' } },
    },
    async (ctx) => {
      atol.setKnobs(await jsonBody(ctx, knobs, 4096));
      ctx.body = atol.knobs;
    },
  );
  if (!driver) return;
  api.route(
    {
      method: 'post',
      path: '/sandbox/atol-driver/knobs',
      summary:
        'Sandbox: the emulated local register’s knobs (paperPresent, coverOpened, offline, down, taskMs, fnWarnings, expireShift: true)',
      tag: 'sandbox',
      auth: 'none',
      body: knobs,
      responses: { 200: { description: 'Knobs' } },
    },
    async (ctx) => {
      driver.setKnobs(await jsonBody(ctx, knobs, 4096));
      ctx.body = driver.knobs;
    },
  );
}

/** Support's chat at the emulated Telegram Bot API: what the alert channel posted, and the refused attempts. */
function telegramRoutes(api: ApiRouter, telegram: TelegramEmulator): void {
  api.route(
    {
      method: 'get',
      path: '/sandbox/telegram',
      summary: 'Sandbox: the messages the emulated Telegram Bot API accepted (support’s chat), and the calls it refused',
      tag: 'sandbox',
      auth: 'none',
      responses: { 200: { description: 'Messages, newest last' } },
    },
    async (ctx) => {
      ctx.body = { items: telegram.messages, refused: telegram.attempts.filter((a) => a.status !== 200), knobs: telegram.knobs };
    },
  );
  // e.g. {"force429": 1, "forceRetryAfter": 2}: the next message is answered 429 with retry_after 2
  knobRoutes(api, 'telegram', 'the emulated Telegram Bot API', telegram);
}
