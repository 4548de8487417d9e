import type { CreateReceiptInput } from '../../../schemas/api';
import { normalizePhone, PAYMENT_OBJECTS, PAYMENT_TYPES, receiptIssues, vatAmount, type ReceiptDoc } from '../../domain/receipt';
import { conflict, unprocessable } from '../../errors';
import { nowIso } from '../../store/db';
import { getOrder } from '../../store/orders';
import { getPayment } from '../../store/payments';
import { findReceiptByExternalId, insertReceipt, newReceiptRow } from '../../store/receipts';
import type { ReceiptRow } from '../../store/schema';
import type { FlowDeps } from '../deps';
import { registerReceiptJob } from './delivery';
import { company } from './translator';
import { canonicalJson, sha256 } from '../orders/create';

/**
 * Registrar mode: the site or 1C decides and sends "register this receipt"; the gateway checks it,
 * records it and executes it at the chosen register, exactly once per the caller's id. In
 * translator mode the gateway makes the receipts itself and takes only corrections here.
 */
export async function createRegistrarReceipt(
  d: FlowDeps,
  organizationId: string,
  input: CreateReceiptInput,
): Promise<{ receipt: ReceiptRow; created: boolean }> {
  const org = d.orgs.get(organizationId)!;
  const correction = input.operation === 'sell_correction' || input.operation === 'sell_refund_correction';
  if (org.fiscal.mode === 'off') throw conflict('receipts_off', `organization "${org.id}" does not make receipts (fiscal.mode is off)`);
  if (org.fiscal.mode === 'translator' && !correction) {
    throw conflict(
      'translator_mode',
      `the gateway makes the receipts of organization "${org.id}" itself (translator mode); only correction receipts are taken here`,
      [{ path: 'operation', message: 'sell_correction or sell_refund_correction' }],
    );
  }

  let registerId: string;
  if (input.register) {
    if (!d.fiscal.get(org.id, input.register))
      throw unprocessable('unknown_register', `no register "${input.register}"`, [
        { path: 'register', message: `one of ${org.fiscal.registers.map((r) => r.id).join(', ')}` },
      ]);
    registerId = input.register;
  } else if (input.pointOfSale) {
    const route = org.fiscal.routes.find((r) => r.pointOfSale === input.pointOfSale);
    if (!route)
      throw unprocessable('unknown_point_of_sale', `no route for point of sale "${input.pointOfSale}"`, [
        { path: 'pointOfSale', message: 'not in the organization’s fiscal.routes' },
      ]);
    registerId = route.register;
  } else {
    registerId = d.fiscal.route(org, {});
  }

  if (input.orderId && (await getOrder(d.store.db, input.orderId))?.organization_id !== org.id)
    throw unprocessable('unknown_order', 'no such order', [{ path: 'orderId', message: 'not an order of this organization' }]);
  if (input.paymentId && (await getPayment(d.store.db, input.paymentId))?.organization_id !== org.id)
    throw unprocessable('unknown_payment', 'no such payment', [{ path: 'paymentId', message: 'not a payment of this organization' }]);

  const doc: ReceiptDoc = {
    operation: input.operation,
    date: input.date ? new Date(input.date).toISOString() : nowIso(),
    client: { ...input.client, ...(input.client.phone ? { phone: normalizePhone(input.client.phone) } : {}) },
    company: company(d, org),
    items: input.items.map((it) => ({
      name: it.name,
      price: it.price,
      quantity: it.quantity,
      amount: it.amount,
      measure: it.measure,
      paymentMethod: it.paymentMethod,
      paymentObject: typeof it.paymentObject === 'number' ? it.paymentObject : PAYMENT_OBJECTS[it.paymentObject],
      vat: it.vat,
      vatAmount: vatAmount(it.amount, it.vat),
    })),
    payments: input.payments.map((p) => ({ type: PAYMENT_TYPES[p.type], amount: p.amount })),
    total: input.total,
    ...(input.correction ? { correction: input.correction } : {}),
  };
  const issues = receiptIssues(doc);
  if (issues.length) throw unprocessable('receipt_invalid', 'the receipt would be refused by the register', issues);

  const prefixed = `rg-${org.id}-${input.externalId}`;
  const externalId = prefixed.length <= 128 ? prefixed : `rg-${sha256(org.id).slice(0, 12)}-${input.externalId}`;
  const { organization: _o, ...content } = input;
  const hash = sha256(canonicalJson(content));
  const same = (r: ReceiptRow) => {
    if (r.request_hash === hash) return { receipt: r, created: false };
    throw conflict('external_id_conflict', `a receipt with externalId "${input.externalId}" exists with different content`, [
      { path: 'externalId', message: `belongs to receipt ${r.id}` },
    ]);
  };
  const existing = await findReceiptByExternalId(d.store.db, externalId);
  if (existing) return same(existing);

  const row = newReceiptRow({
    organization_id: org.id,
    order_id: input.orderId ?? null,
    payment_id: input.paymentId ?? null,
    refund_id: null,
    register_id: registerId,
    kind: 'registrar',
    operation: doc.operation,
    external_id: externalId,
    request_hash: hash,
    total: doc.total,
    body: JSON.stringify(doc),
  });

  const created = await d.store.db.transaction().execute(async (trx) => {
    if (!(await insertReceipt(trx, d.store.dialect, row))) return false;
    await d.jobs.enqueue(trx, registerReceiptJob, { receiptId: row.id }, { key: `fiscal:${row.id}:0` });
    return true;
  });
  if (!created) return same((await findReceiptByExternalId(d.store.db, externalId))!);
  d.jobs.kick();
  return { receipt: row, created: true };
}
