import { randomBytes } from 'node:crypto';
import { noteAuthFailure } from '../alerts/auth-failures';
import type { CreatePaymentInput } from '../../../schemas/api';
import { newId } from '../../domain/ids';
import { outstanding } from '../../domain/order';
import { AppError, conflict, notFound, unprocessable } from '../../errors';
import { ExternalError, type AcquiringProvider, type PaymentAction, type ProviderAction, type ProviderMethod } from '../../ports';
import { nowIso } from '../../store/db';
import { getOrder } from '../../store/orders';
import {
  getPayment,
  insertAttempt,
  insertPayment,
  listOrderPayments,
  movePayment,
  newAttemptRow,
  newPaymentRow,
  setPaymentAction,
  updateAttempt,
} from '../../store/payments';
import type { OrderRow, PaymentRow } from '../../store/schema';
import type { FlowDeps } from '../deps';
import { qrImage } from '../orders/qr';
import { createInvoicePayment } from './invoice';
import { queueSupersededCancels } from './supersede';

const METHOD_NAMES = { card: 'картой', sbp: 'через СБП', invoice: 'по счёту' } as const;

/**
 * A number for one attempt at the bank, unique per merchant: the order number the shop knows,
 * then a random tail (the bank's limit is 32 characters; only latin letters, digits, - and _).
 */
export function attemptOrderNumber(orderNumber: string): string {
  // 21 + "-" + 10 = 32, the bank's limit
  const head = orderNumber.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 21) || 'order';
  return `${head}-${randomBytes(5).toString('hex')}`;
}

export function paymentReturnUrl(d: FlowDeps, paymentId: string, outcome: 'success' | 'fail'): string {
  return `${d.config.server.publicUrl.replace(/\/$/, '')}/return/${paymentId}?result=${outcome}`;
}

/** The provider a payment goes to: the method's own, or one of its alternatives the site named. */
function chooseProvider(
  d: FlowDeps,
  orgId: string,
  input: CreatePaymentInput & { method: ProviderMethod },
): { provider: AcquiringProvider; ttlMinutes: number } {
  const org = d.orgs.get(orgId)!;
  const method = org.payments[input.method];
  if (!method) {
    throw unprocessable('method_not_enabled', `payment method "${input.method}" is not enabled for this organization`, [
      { path: 'method', message: `organization "${org.id}" has no ${input.method} provider configured` },
    ]);
  }
  const allowed = [method.provider, ...method.alternatives];
  const name = input.provider ?? method.provider;
  if (!(allowed as string[]).includes(name)) {
    throw unprocessable('provider_not_enabled', `provider "${name}" is not enabled for ${input.method} in this organization`, [
      { path: 'provider', message: `one of ${allowed.join(', ')}` },
    ]);
  }
  const provider = d.providers.get(org.id, name);
  if (!provider) {
    throw unprocessable('method_not_enabled', `payment method "${input.method}" is not enabled for this organization`, [
      { path: 'method', message: 'no acquirer serves it' },
    ]);
  }
  return { provider, ttlMinutes: method.ttlMinutes ?? DEFAULT_TTL_MINUTES[input.method] };
}

const DEFAULT_TTL_MINUTES = { card: 20, sbp: 30 } as const;

/** What the customer is to do, as the API shows it: a QR gets its image drawn here from the bank's payload. */
async function customerAction(action: ProviderAction): Promise<PaymentAction> {
  if (action.type === 'redirect') return action;
  return { type: 'qr', payload: action.payload, image: await qrImage(action.payload), expiresAt: action.expiresAt };
}

/**
 * Starts a payment of what is left to pay on an order: records the payment and its first attempt,
 * registers the attempt at the provider, stores what the customer is to do (the bank's form, or a
 * СБП QR with its lifetime).
 */
export async function createPayment(
  d: FlowDeps,
  organizations: ReadonlySet<string>,
  orderId: string,
  input: CreatePaymentInput,
): Promise<PaymentRow> {
  const order = await getOrder(d.store.db, orderId);
  if (!order || !organizations.has(order.organization_id)) throw notFound('order');
  if (input.method === 'invoice') return createInvoicePayment(d, order, input);
  const org = d.orgs.get(order.organization_id)!;
  const method = input.method;
  const { provider, ttlMinutes } = chooseProvider(d, org.id, { ...input, method });
  const minimum = provider.minAmount?.(method) ?? 1;
  const due = outstanding(order.total, order.paid_amount);
  if (order.status === 'awaiting_payment' && due < minimum) {
    throw unprocessable('amount_below_minimum', `${provider.name} takes ${input.method} payments of at least ${minimum} kopecks`, [
      { path: 'method', message: `the order has ${due} kopecks to pay` },
    ]);
  }
  const now = nowIso();
  const paymentId = newId();
  const attemptId = newId();
  const orderNumber = attemptOrderNumber(order.number);
  const expiresAt = nowIso(Date.now() + ttlMinutes * 60_000);

  const payment = await d.store.db.transaction().execute(async (trx) => {
    const fresh = (await getOrder(trx, orderId))!;
    if (fresh.status !== 'awaiting_payment') {
      throw conflict('order_not_payable', fresh.status === 'cancelled' ? 'the order is cancelled' : 'the order is already paid', [
        { path: 'orderId', message: `order status is ${fresh.status}` },
      ]);
    }
    const row = newPaymentRow(
      {
        id: paymentId,
        order_id: order.id,
        organization_id: org.id,
        method: input.method,
        provider: provider.name,
        amount: outstanding(fresh.total, fresh.paid_amount),
        return_url: input.returnUrl ?? null,
        fail_url: input.failUrl ?? input.returnUrl ?? null,
      },
      now,
    );
    await insertPayment(trx, row);
    await insertAttempt(
      trx,
      newAttemptRow(
        {
          id: attemptId,
          payment_id: paymentId,
          organization_id: org.id,
          provider: provider.name,
          method,
          amount: row.amount,
          order_number: orderNumber,
          expires_at: expiresAt,
          // if the process dies before the bank answers, the janitor looks the number up
          next_check_at: nowIso(Date.now() + 60_000),
        },
        now,
      ),
    );
    // one live payment per order: the older pending ones are given up at their banks (not waited for)
    await queueSupersededCancels(d, trx, order.id, paymentId);
    return row;
  });
  d.jobs.kick();

  const log = d.log.child({ paymentId, attemptId, orderId });
  try {
    const customer = JSON.parse(order.customer) as { email?: string; phone?: string };
    const result = await provider.initiate({
      attemptId,
      orderNumber,
      method,
      amount: payment.amount,
      expiresAt,
      description: `Оплата заказа ${order.number} ${METHOD_NAMES[input.method]}`,
      returnUrl: paymentReturnUrl(d, paymentId, 'success'),
      failUrl: paymentReturnUrl(d, paymentId, 'fail'),
      callbackUrl: `${d.config.server.publicUrl.replace(/\/$/, '')}/callbacks/${provider.name}/${org.id}`,
      customer: { email: customer.email, phone: customer.phone },
    });
    if (result.warnings?.length) log.warn({ warnings: result.warnings }, 'the provider’s answer looks odd');
    const action = await customerAction(result.action);
    await d.store.db.transaction().execute(async (trx) => {
      await updateAttempt(trx, attemptId, {
        state: 'active',
        provider_ref: result.providerRef,
        provider_extra: result.extra ? JSON.stringify(result.extra) : null,
        ...(action.type === 'qr' ? { expires_at: action.expiresAt } : {}),
        next_check_at: nowIso(Date.now() + d.config.janitor.pollPendingAfterSeconds * 1000),
      });
      await setPaymentAction(trx, paymentId, action);
    });
    log.info({ provider: provider.name, method, orderNumber }, 'payment registered at the provider');
    return (await getPayment(d.store.db, paymentId))!;
  } catch (e) {
    const known = e instanceof ExternalError;
    const unknownOutcome = !known || e.retryable;
    log.error({ err: e }, 'registering the payment at the provider failed');
    await noteAuthFailure(d.store.db, e);
    await d.store.db.transaction().execute(async (trx) => {
      // a definite refusal closes the attempt; an unknown outcome leaves it for the janitor to look up
      await updateAttempt(
        trx,
        attemptId,
        unknownOutcome
          ? { error: String((e as Error).message).slice(0, 1000) }
          : { state: 'failed', next_check_at: null, error: String((e as Error).message).slice(0, 1000) },
      );
      await movePayment(trx, paymentId, 'pending', { status: 'cancelled', status_reason: 'провайдер не принял платёж' });
    });
    throw new AppError(502, 'provider_error', `the payment provider did not accept the payment${known ? `: ${e.message}` : ''}`, {
      internal: String(e),
      cause: e,
    });
  }
}

/** The order's СБП QR the customer can still pay, or a new one: what a manager sends through a messenger. */
export async function ensureSbpQr(
  d: FlowDeps,
  order: OrderRow,
): Promise<{ payment: PaymentRow; qr: Extract<PaymentAction, { type: 'qr' }> }> {
  const payments = await listOrderPayments(d.store.db, order.id);
  for (const p of payments.reverse()) {
    const action = p.action ? (JSON.parse(p.action) as PaymentAction) : null;
    if (p.status === 'pending' && action?.type === 'qr' && Date.parse(action.expiresAt) > Date.now()) return { payment: p, qr: action };
  }
  const payment = await createPayment(d, new Set([order.organization_id]), order.id, { method: 'sbp' });
  return { payment, qr: JSON.parse(payment.action!) as Extract<PaymentAction, { type: 'qr' }> };
}
