import iconv from 'iconv-lite';
import { CmlError, type CmlVersion, type ExportOrder, type WriteOptions } from '../../../connectors/commerceml/types';
import { checkOrdersPackage, describeProblem, writeOrders } from '../../../connectors/commerceml/writer';
import type { Alert } from '../../ports';
import { ALERTS } from '../alerts/catalog';
import { paymentsWriterOf } from '../../config/schema';
import type { Customer, OrderItem } from '../../domain/order';
import { nowIso } from '../../store/db';
import { transferOfPayment } from '../../store/invoices';
import { listOrderPayments, paymentAttempts } from '../../store/payments';
import type { ExchangeSessionsTable, OrderRow } from '../../store/schema';
import { markExported, ordersToExport, updateSession } from '../../store/exchange';
import type { FlowDeps } from '../deps';
import { ExchangeBase, numberLength, organizationsOf, SITE_NUMBER_MAX } from './session';

const STATUS: Record<string, [string, string]> = {
  awaiting_payment: ['N', 'Принят'],
  paid: ['P', 'Оплачен'],
  partially_refunded: ['P', 'Оплачен'],
  refunded: ['R', 'Возврат'],
  cancelled: ['C', 'Отменен'],
};

const METHOD: Record<string, string> = { card: 'Банковская карта', sbp: 'СБП', invoice: 'Счёт' };

async function exportOrder(d: FlowDeps, base: ExchangeBase, order: OrderRow): Promise<ExportOrder> {
  const customer = JSON.parse(order.customer) as Customer;
  const items = JSON.parse(order.items) as OrderItem[];
  const payments = await listOrderPayments(d.store.db, order.id);
  // the payment that paid last (an invoice paid in parts: the transfer that completed it)
  const paid = payments
    .filter((p) => p.paid_at)
    .reduce<(typeof payments)[number] | undefined>((a, p) => (a && a.paid_at! > p.paid_at! ? a : p), undefined);
  const last = paid ?? payments.at(-1);
  const attempt = paid ? (await paymentAttempts(d.store.db, paid.id)).find((a) => a.provider_ref) : undefined;
  // a bank transfer is known by its payment order's number
  const transfer = paid?.method === 'invoice' ? await transferOfPayment(d.store.db, paid.id) : undefined;
  const documentNumber = attempt?.provider_ref ?? transfer?.bank_number ?? paid?.id;
  const [statusId, status] = STATUS[order.status] ?? ['N', 'Принят'];
  // an invoice paid in part is not paid yet
  const isPaid = order.paid_amount >= order.total || Boolean(order.onec_paid_at);
  return {
    id: order.onec_ref ?? order.external_id,
    number: order.number,
    createdAt: order.created_at,
    total: order.total,
    customer: {
      id: customer.inn
        ? `inn-${customer.inn}${customer.kpp ? `-${customer.kpp}` : ''}`
        : customer.email
          ? `email-${customer.email}`
          : customer.phone
            ? `phone-${customer.phone.replace(/\D/g, '')}`
            : `order-${order.id}`,
      type: customer.type,
      name: customer.name,
      inn: customer.inn,
      kpp: customer.kpp,
      email: customer.email,
      phone: customer.phone,
    },
    items: items.map((it) => ({
      id: it.sku,
      name: it.name,
      quantity: it.quantity,
      price: it.price,
      amount: it.amount,
      vat: it.vat,
      kind: it.kind ?? 'goods',
      delivery: /^(ORDER_)?DELIVERY$/i.test(it.sku),
    })),
    requisites: {
      paymentMethod: last ? (METHOD[last.method] ?? last.method) : 'Банковская карта',
      ...(last ? { paymentMethodId: last.method } : {}),
      // when the gateway writes the payments into this base, 1C must not make its own from these
      ...(paymentsWriterOf(d.config, base) === 'onec'
        ? {
            paid: isPaid,
            ...(!isPaid ? {} : paid?.paid_at ? { paidAt: paid.paid_at } : order.onec_paid_at ? { paidAt: order.onec_paid_at } : {}),
            ...(isPaid && documentNumber ? { paymentDocumentNumber: documentNumber } : {}),
          }
        : {}),
      status: `[${statusId}] ${status}`,
      statusId,
      statusChangedAt: order.updated_at,
      cancelled: order.status === 'cancelled',
      ...(order.cancelled_at ? { cancelledAt: order.cancelled_at } : {}),
      ...(order.cancel_reason ? { cancelReason: order.cancel_reason } : {}),
      deliveryAllowed: isPaid,
      ...(base.site ? { site: base.site } : {}),
    },
  };
}

/** Why 1C's package would refuse the order's document (Russian, and the writer's own words); undefined when it fits. */
function refusal(doc: ExportOrder, opts: WriteOptions): { reason: string; detail?: string } | undefined {
  let bytes: Buffer;
  try {
    bytes = writeOrders([doc], opts);
  } catch (e) {
    return {
      reason: 'его строки или суммы не укладываются в формат CommerceML (количество до 3 знаков после запятой, суммы в копейках)',
      detail: (e as Error).message,
    };
  }
  const { problems } = checkOrdersPackage(iconv.decode(bytes, opts.encoding === 'windows-1251' ? 'win1251' : 'utf8'));
  return problems.length > 0 ? { reason: problems.map((p) => describeProblem(p, 'ru')).join('; ') } : undefined;
}

/**
 * `mode=query`: the orders 1C has not confirmed yet (new, or changed since 1C last took them), in
 * the session's version and the base's encoding. They are marked as taken only at `success`: a
 * query never confirmed sends the same orders again.
 *
 * 1C reads the whole answer at once, with its CommerceML 2.08 package, and loads its orders in one
 * transaction: one document it refuses loses the whole batch (and `success` never comes). So each
 * order's document is checked on its own first; one that would break the package, and one whose
 * number 1C could not find again (over 11 characters), is left out with an alert, and the rest go.
 */
export async function queryOrders(d: FlowDeps, base: ExchangeBase, session: ExchangeSessionsTable): Promise<Buffer> {
  const queryAt = nowIso();
  const orders = await ordersToExport(d.store.db, base.id, organizationsOf(d, base));
  const opts: WriteOptions = {
    version: (session.version as CmlVersion) ?? base.version,
    encoding: base.encoding,
    generatedAt: new Date(queryAt),
    timeZone: base.timeZone,
  };
  const exported: ExportOrder[] = [];
  const sent: [string, string][] = [];
  const left: Alert[] = [];
  for (const o of orders) {
    if (numberLength(o.number) > SITE_NUMBER_MAX) {
      left.push(ALERTS.exchange.numberTooLong(o, base.id, SITE_NUMBER_MAX));
      continue;
    }
    let doc: ExportOrder;
    try {
      doc = await exportOrder(d, base, o);
    } catch (e) {
      left.push(ALERTS.exchange.notSent(o, base.id, 'данные заказа на сайте не читаются', (e as Error).message));
      continue;
    }
    const why = refusal(doc, opts);
    if (why) {
      left.push(ALERTS.exchange.notSent(o, base.id, why.reason, why.detail));
      continue;
    }
    exported.push(doc);
    sent.push([o.id, o.updated_at]);
  }
  await d.store.db.transaction().execute(async (trx) => {
    await updateSession(trx, session.id, { query_at: queryAt, query_orders: JSON.stringify(sent) });
    for (const a of left) await d.alerts.raise(trx, a);
  });
  if (left.length > 0) {
    d.jobs.kick();
    d.log.warn({ base: base.id, left: left.length }, 'exchange: orders left out of the query');
  }
  return writeOrders(exported, opts);
}

/** `mode=success`: 1C took what the last query sent; an order changed since then is sent again. */
export async function confirmQuery(d: FlowDeps, session: ExchangeSessionsTable): Promise<number> {
  if (!session.query_at || !session.query_orders)
    throw new CmlError('Нечего подтверждать: в этом сеансе не было запроса заказов (mode=query).');
  const sent = JSON.parse(session.query_orders) as [string, string][];
  await d.store.db.transaction().execute(async (trx) => {
    await markExported(trx, session.base_id, sent);
    await updateSession(trx, session.id, { query_orders: null });
  });
  return sent.length;
}
