import { z } from 'zod';
import { innProblem, kppProblem } from '../gateway/domain/inn';
import { MAX_KOPECKS, quantityThousandths } from '../gateway/domain/money';
import { MEASURE_CODES, MEASURES, VAT_CODES } from '../gateway/domain/order';
import { PAYMENT_STATUSES } from '../gateway/domain/payment-state';
import { PAYMENT_METHODS, PAYMENT_OBJECTS, PAYMENT_TYPES, RECEIPT_OPERATIONS } from '../gateway/domain/receipt';

/**
 * The REST API's shapes. Request schemas validate input (errors carry the field path);
 * the same schemas produce /openapi.json.
 */

const kopecks = z
  .number({ error: 'a number of kopecks' })
  .int('an integer number of kopecks (150000 = 1 500,00 ₽)')
  .min(0, 'must not be negative')
  .max(MAX_KOPECKS, 'too large')
  .meta({ description: 'Integer kopecks: 150000 = 1 500,00 ₽' });

const positiveKopecks = kopecks.min(1, 'must be greater than zero');

export const vatCode = z.enum(VAT_CODES).meta({
  description: 'VAT rate code as on a 54-ФЗ receipt: none, vat0, vat5, vat7, vat10, vat20, vat22, or the calculated vat105...vat122',
});

/** An ИНН with its check digits (10 digits: a company; 12: an individual or an individual entrepreneur). */
const innField = z.string().superRefine((v, ctx) => {
  const problem = innProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const customerSchema = z
  .object({
    type: z.enum(['individual', 'legal']),
    name: z.string().trim().min(1).max(256),
    email: z.email().max(256).optional(),
    phone: z
      .string()
      .regex(/^\+?[0-9 ()-]{10,20}$/, 'a phone number such as +79001234567')
      .optional(),
    inn: innField.optional(),
    kpp: z
      .string()
      .superRefine((v, ctx) => {
        const problem = kppProblem(v);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
  })
  .superRefine((c, ctx) => {
    if (c.type === 'legal' && !c.inn) ctx.addIssue({ code: 'custom', path: ['inn'], message: 'required for a legal entity' });
    // a КПП is a company's (and its branches'): an individual, an individual entrepreneur (12-digit ИНН) has none
    if (c.kpp && (c.type === 'individual' || c.inn?.length === 12))
      ctx.addIssue({ code: 'custom', path: ['kpp'], message: 'an individual or an individual entrepreneur (12-digit ИНН) has no КПП' });
  });

export const orderItemSchema = z.object({
  sku: z.string().trim().min(1).max(128).meta({ description: 'Item code; the 1C item GUID where the site knows it' }),
  name: z.string().trim().min(1).max(256),
  quantity: z
    .number()
    .positive('must be greater than zero')
    .refine((q) => quantityThousandths(q) !== null, 'at most 3 decimal places'),
  price: kopecks,
  amount: kopecks.meta({ description: 'price × quantity, rounded to a kopeck half away from zero' }),
  vat: vatCode,
  kind: z.enum(['goods', 'service']).optional(),
  measure: z
    .literal(MEASURE_CODES, {
      error: `a unit of measure of ФФД 1.2 (tag 2108): ${MEASURE_CODES.map((c) => `${c} ${MEASURES[c]}`).join(', ')}`,
    })
    .optional()
    .meta({ description: 'Unit of measure, ФФД 1.2 tag 2108: 0 шт. (default), 10 г, 11 кг, 22 м, 41 л, …; weighed goods in 11 кг' }),
});

export const paymentTermsSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('prepay') }),
  z.object({
    type: z.literal('deferred'),
    days: z.number().int().min(1).max(365),
    from: z
      .enum(['shipment', 'invoice'])
      .default('shipment')
      .meta({ description: 'What the days count from: the shipment (УТ’s «Оплата после отгрузки»), or the invoice’s date' }),
  }),
]);

export const putCustomerSchema = z
  .object({
    organization: z.string().optional().meta({ description: 'Organization id; optional when the API key serves one organization' }),
    name: z.string().trim().min(1).max(256),
    kpp: z
      .string()
      .superRefine((v, ctx) => {
        const problem = kppProblem(v);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    terms: z
      .object({
        deferredDays: z
          .number()
          .int()
          .min(1)
          .max(365)
          .nullable()
          .default(null)
          .meta({ description: 'Days to pay on deferred terms; null: prepay. An order without paymentTerms gets these' }),
        from: z.enum(['shipment', 'invoice']).default('shipment'),
        creditLimit: kopecks
          .nullable()
          .default(null)
          .meta({ description: 'The most the customer may owe on deferred orders; null: no limit' }),
        blockOverdue: z.boolean().default(true).meta({ description: 'No new deferred order while an invoice is overdue' }),
      })
      .default({ deferredDays: null, from: 'shipment', creditLimit: null, blockOverdue: true }),
  })
  .meta({ id: 'PutCustomer' });
export type PutCustomerInput = z.infer<typeof putCustomerSchema>;

export const customerViewSchema = z
  .object({
    inn: z.string(),
    kpp: z.string().nullable(),
    name: z.string().nullable(),
    terms: z.object({
      deferredDays: z.number().nullable(),
      from: z.enum(['shipment', 'invoice']),
      creditLimit: kopecks.nullable(),
      blockOverdue: z.boolean(),
    }),
    owed: kopecks.meta({ description: 'What the customer owes on deferred orders' }),
    available: kopecks.nullable().meta({ description: 'What a new deferred order may still come to; null: no limit' }),
    unpaid: z.array(
      z.object({
        orderNumber: z.string(),
        due: kopecks,
        dueDate: z.string().nullable(),
        overdue: z.boolean(),
        invoice: z.object({ number: z.string(), date: z.string() }).nullable(),
      }),
    ),
  })
  .meta({ id: 'Customer' });

export const customerInvoicesSchema = z
  .object({
    inn: z.string(),
    invoices: z.array(
      z.object({
        id: z.string(),
        number: z.string().meta({ description: 'As printed: 1C’s own number for an invoice made in 1C' }),
        date: z.string().meta({ description: 'YYYY-MM-DD' }),
        amount: kopecks,
        paid: kopecks.meta({ description: 'What is paid of it' }),
        dueDate: z.string().nullable().meta({ description: 'YYYY-MM-DD; null: a deferral counting from a shipment still to come' }),
        state: z.enum(['open', 'overdue', 'paid', 'annulled']).meta({
          description:
            'open: to be paid; overdue: to be paid and past its due date; paid; annulled: annulled in 1C or cancelled, not to be paid',
        }),
        source: z.enum(['gateway', 'onec']).meta({ description: 'Who made it: the gateway (method invoice) or a manager in 1C' }),
        orderId: z.string(),
        orderNumber: z.string(),
        paymentId: z.string(),
        document: z.string().meta({ description: 'The printed «Счет на оплату» (PDF; HTML for a browser)' }),
        payUrl: z.string().nullable().meta({ description: 'The order’s payment page; null when nothing is left to pay' }),
      }),
    ),
  })
  .meta({ id: 'CustomerInvoices' });

export const invoiceListSchema = z
  .object({
    items: z.array(
      z.object({
        organization: z.string(),
        number: z.string(),
        date: z.string(),
        dueDate: z.string().nullable().meta({ description: 'null: a deferral counting from a shipment that has not happened' }),
        daysOverdue: z.number().int(),
        amount: kopecks.meta({ description: 'The invoice’s amount' }),
        paid: kopecks.meta({ description: 'Paid so far by bank transfers (partial payments)' }),
        left: kopecks.meta({ description: 'Still to pay' }),
        orderId: z.string(),
        orderNumber: z.string(),
        paymentId: z.string(),
        customer: z.object({ name: z.string(), inn: z.string().nullable() }),
      }),
    ),
  })
  .meta({ id: 'InvoiceList' });

export const createOrderSchema = z
  .object({
    externalId: z.string().trim().min(1).max(128).meta({ description: 'The site’s own order id, unique per organization' }),
    number: z.string().trim().min(1).max(64),
    organization: z.string().optional().meta({ description: 'Organization id; optional when the API key serves one organization' }),
    customer: customerSchema,
    items: z.array(orderItemSchema).min(1, 'at least one line').max(1000),
    total: positiveKopecks,
    currency: z.literal('RUB', { error: 'only RUB is supported' }).default('RUB'),
    paymentTerms: paymentTermsSchema.optional(),
    onecRef: z
      .guid()
      .optional()
      .meta({ description: 'The order’s Ref_Key in 1C, when the site knows it (else 1C finds the order by its number)' }),
  })
  .meta({ id: 'CreateOrder' });
export type CreateOrderInput = z.infer<typeof createOrderSchema>;

export const createPaymentSchema = z
  .object({
    method: z.enum(['card', 'sbp', 'invoice']),
    provider: z.string().optional().meta({ description: 'Override of the organization’s provider for this method' }),
    returnUrl: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .optional()
      .meta({ description: 'Where the customer lands after paying' }),
    failUrl: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .optional()
      .meta({ description: 'Where the customer lands when the payment fails' }),
  })
  .meta({ id: 'CreatePayment' });
export type CreatePaymentInput = z.infer<typeof createPaymentSchema>;

export const createRefundSchema = z.object({ amount: positiveKopecks }).meta({ id: 'CreateRefund' });

// ---------------------------------------------------------------- responses

export const errorSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.array(z.object({ path: z.string().optional(), message: z.string() })),
    }),
  })
  .meta({ id: 'Error' });

export const actionSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('redirect'), url: z.string() }),
    z.object({ type: z.literal('qr'), payload: z.string(), image: z.string(), expiresAt: z.string() }),
    z.object({
      type: z.literal('invoice'),
      number: z.string().meta({ description: 'The invoice’s number in the organization’s series' }),
      date: z.string().meta({ description: 'The invoice’s date, YYYY-MM-DD' }),
      dueDate: z
        .string()
        .nullable()
        .meta({ description: 'Pay by, YYYY-MM-DD; null while the deferral counts from a shipment that has not happened' }),
      dueDaysAfterShipment: z.number().int().optional().meta({ description: 'Deferred terms counted from shipment: days' }),
      uip: z
        .string()
        .optional()
        .meta({ description: 'The УИП for field 22 «Код» of the payment order (when the organization prints one)' }),
      document: z.string().meta({ description: 'The invoice document (the printed «Счёт на оплату»)' }),
    }),
  ])
  .meta({ id: 'PaymentAction' });

export const onecStatusSchema = z
  .object({
    status: z.enum(['not_configured', 'pending', 'waiting_for_order', 'delivered', 'failed', 'skipped']).meta({
      description:
        'Where the document stands in 1C; waiting_for_order: 1C does not have the order yet, the payment is written once it does' +
        '; skipped: never sent, a double payment of an order (and its refund): 1C has the order paid once',
    }),
    document: z.string().optional().meta({ description: 'The 1C document (Ref_Key)' }),
    number: z.string().optional().meta({ description: 'Its number in 1C' }),
    error: z.string().optional().meta({ description: 'Why it is not there yet, in Russian' }),
  })
  .meta({ id: 'OneCStatus' });

export const refundViewSchema = z
  .object({
    id: z.string(),
    paymentId: z.string(),
    amount: kopecks,
    status: z.enum(['pending', 'succeeded', 'failed']),
    error: z.string().optional(),
    onec: onecStatusSchema,
    createdAt: z.string(),
  })
  .meta({ id: 'Refund' });

export const operationViewSchema = z
  .object({
    id: z.string(),
    organization: z.string(),
    provider: z.string(),
    kind: z.enum(['payment', 'refund']),
    providerRef: z.string().meta({ description: 'The provider’s payment id (Sber mdOrder, T-Bank PaymentId)' }),
    orderNumber: z.string().nullable().meta({ description: 'The order number the provider holds (ours for the gateway’s attempts)' }),
    method: z.string().nullable(),
    amount: kopecks,
    occurredAt: z.string(),
    payerBank: z.string().nullable(),
    purpose: z.string().nullable(),
    channel: z.string().nullable().meta({ description: 'site, onec (a manager’s order) or external (started outside the gateway)' }),
    source: z.string().meta({ description: 'Who reported it first: callback, status or registry' }),
    paymentId: z.string().nullable(),
    orderId: z.string().nullable(),
    match: z.object({ state: z.enum(['matched', 'unmatched', 'ambiguous', 'mismatch', 'resolved']), note: z.string().optional() }),
    lines: z
      .array(z.object({ line: z.number().int(), sku: z.string(), name: z.string(), amount: kopecks }))
      .meta({ description: 'The order lines it pays (or returns)' }),
    createdAt: z.string(),
  })
  .meta({ id: 'Operation' });

export const pageStatusSchema = z
  .object({
    orderStatus: z.string(),
    orderText: z.string(),
    paymentId: z.string().nullable(),
    method: z.string().nullable(),
    paymentStatus: z.string().nullable(),
    paymentText: z.string().nullable(),
    qrExpiresAt: z.string().nullable().meta({ description: 'When the live СБП QR stops working' }),
  })
  .meta({ id: 'PayPageStatus' });
export const receiptViewSchema = z
  .object({
    id: z.string(),
    externalId: z
      .string()
      .meta({ description: 'The id the register knows the receipt by (stable: derived from the payment, refund or the caller’s id)' }),
    organization: z.string(),
    kind: z.enum(['prepayment', 'settlement', 'full', 'credit', 'credit_payment', 'refund', 'registrar']).meta({
      description:
        'prepayment: at payment, goods later; settlement: at shipment, offsetting the prepayment; full: paid and handed over at once; credit / credit_payment: handed over before payment, then paid; refund; registrar: sent by the site or 1C',
    }),
    operation: z.enum(RECEIPT_OPERATIONS).meta({ description: 'Tag 1054: sell, sell_refund, sell_correction, sell_refund_correction' }),
    status: z.enum(['pending', 'sent', 'done', 'failed']).meta({
      description:
        'pending: to be sent; sent: the register has it, the result is awaited; done: registered; failed: refused, see error (retry from the admin API)',
    }),
    register: z.string(),
    total: kopecks,
    orderId: z.string().optional(),
    paymentId: z.string().optional(),
    refundId: z.string().optional(),
    date: z.string().meta({ description: 'When the settlement happened (the receipt’s timestamp)' }),
    client: z.object({
      email: z.string().optional(),
      phone: z.string().optional(),
      name: z.string().optional(),
      inn: z.string().optional(),
    }),
    items: z.array(
      z.object({
        name: z.string(),
        price: kopecks,
        quantity: z.number(),
        amount: kopecks,
        paymentMethod: z.enum(PAYMENT_METHODS).meta({ description: 'Tag 1214' }),
        paymentObject: z.number().int().meta({ description: 'Tag 1212: 1 товар, 4 услуга, 10 платёж...' }),
        vat: vatCode,
        vatAmount: kopecks.meta({ description: 'VAT in the line: amount × rate / (100 + rate), rounded half away from zero to a kopeck' }),
        measure: z.number().int().meta({ description: 'Tag 2108: 0 шт' }),
      }),
    ),
    payments: z.array(z.object({ type: z.enum(['cash', 'cashless', 'prepayment', 'credit', 'other']), amount: kopecks })),
    correction: z.object({ type: z.enum(['self', 'instruction']), baseDate: z.string(), baseNumber: z.string().optional() }).optional(),
    fiscal: z
      .object({
        fnNumber: z.string().meta({ description: 'ФН (tag 1041)' }),
        documentNumber: z.number().meta({ description: 'ФД (tag 1040)' }),
        documentAttribute: z.number().meta({ description: 'ФПД (tag 1077)' }),
        datetime: z.string(),
        registrationNumber: z.string().meta({ description: 'РН ККТ (tag 1037)' }),
        shiftNumber: z.number(),
        ofdUrl: z.string().optional(),
      })
      .optional()
      .meta({ description: 'The fiscal attributes, once registered' }),
    error: z.string().optional().meta({ description: 'Why it is not registered (yet), in Russian' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Receipt' });

export const paymentEventSchema = z
  .object({
    at: z.string(),
    kind: z.enum(['callback', 'status', 'return', 'cancel', 'double_payment']).meta({
      description:
        'callback: the bank’s notification; status: the bank’s answer to a status check; cancel: the attempt given up at the bank ' +
        'because a newer payment of the order was started; double_payment: the order was already paid when this payment was',
    }),
    outcome: z
      .string()
      .nullable()
      .meta({
        description:
          'What it came to: the bank’s state (paid, declined…); cancel: cancelled, refused (the bank keeps it) or failed (not reached); ' +
          'double_payment: refund (returned automatically) or alert (support was told)',
      }),
    attemptId: z.string().nullable(),
    note: z.string().optional().meta({ description: 'Why, in Russian (cancel and double_payment)' }),
  })
  .meta({ id: 'PaymentEvent' });

export const paymentViewSchema = z
  .object({
    id: z.string(),
    orderId: z.string(),
    organization: z.string(),
    method: z.enum(['card', 'sbp', 'invoice']),
    provider: z.string(),
    status: z.enum(PAYMENT_STATUSES),
    statusReason: z.string().optional(),
    amount: kopecks,
    paidAt: z.string().optional(),
    refunded: kopecks.optional().meta({ description: 'Kopecks returned so far' }),
    refunds: z.array(refundViewSchema),
    action: actionSchema.nullable(),
    onec: onecStatusSchema,
    receipts: z
      .array(receiptViewSchema)
      .meta({ description: 'The payment’s receipts (its refunds’ too), oldest first, with their status and fiscal attributes' }),
    events: z
      .array(paymentEventSchema)
      .meta({ description: 'The payment’s timeline, oldest first: what the bank said and what the gateway did' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Payment' });

export const orderViewSchema = z
  .object({
    id: z.string(),
    externalId: z.string(),
    number: z.string(),
    organization: z.string(),
    source: z.enum(['site', 'onec']),
    status: z.enum(['awaiting_payment', 'paid', 'partially_refunded', 'refunded', 'cancelled']),
    customer: customerSchema,
    items: z.array(orderItemSchema),
    total: kopecks,
    currency: z.literal('RUB'),
    paymentTerms: paymentTermsSchema,
    onecRef: z.string().nullable(),
    onec: z
      .object({
        number: z.string().nullable().meta({ description: 'The order’s number in 1C' }),
        status: z.string().nullable().meta({ description: 'Its status as 1C last sent it' }),
        paid: z
          .object({ number: z.string().nullable(), date: z.string() })
          .nullable()
          .meta({ description: 'Paid as 1C sees it: its payment document' }),
        shipped: z
          .object({ number: z.string().nullable(), date: z.string() })
          .nullable()
          .meta({ description: 'Shipped (1C sends it when the whole order is)' }),
      })
      .meta({ description: 'What 1C said about the order (CommerceML exchange)' }),
    cancelled: z.object({ date: z.string(), reason: z.string().nullable() }).optional(),
    paidAmount: kopecks,
    refundedAmount: kopecks,
    payments: z.array(z.object({ id: z.string(), status: z.enum(PAYMENT_STATUSES), amount: kopecks })),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Order' });

export const jobViewSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    status: z.enum(['pending', 'queued', 'running', 'done', 'dead']),
    attempts: z.number(),
    maxAttempts: z.number(),
    runAt: z.string(),
    lastError: z.string().optional(),
    payload: z.unknown(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Job' });

// ---------------------------------------------------------------- 1C

export const onecOrderSchema = z
  .object({
    ref: z.guid().meta({ description: 'The order’s Ref_Key in 1C' }),
    number: z.string().trim().min(1).max(64),
    date: z.string().optional().meta({ description: 'The order’s date in 1C (information only)' }),
    organization: z.string().optional().meta({ description: 'Organization id; optional when the key serves one organization' }),
    customer: customerSchema,
    items: z.array(orderItemSchema).min(1, 'at least one line').max(1000),
    total: positiveKopecks,
    currency: z.literal('RUB', { error: 'only RUB is supported' }).default('RUB'),
    sbp: z
      .boolean()
      .default(false)
      .meta({ description: 'Also issue a СБП QR now: its NSPK link goes to the customer as it is (a messenger, an e-mail)' }),
  })
  .meta({ id: 'OneCOrderIn' });

export const payLinkSchema = z
  .object({
    url: z.string().meta({ description: 'The hosted payment page of the order' }),
    qr: z.object({ payload: z.string(), image: z.string().meta({ description: 'data:image/svg+xml;base64,… of the page’s URL' }) }),
  })
  .meta({ id: 'PaymentLink' });

export const onecOrderOutSchema = z
  .object({
    orderId: z.string(),
    payUrl: z.string(),
    qr: payLinkSchema.shape.qr,
    sbp: z
      .object({
        paymentId: z.string(),
        payload: z.string().meta({ description: 'The NSPK link (https://qr.nspk.ru/...)' }),
        image: z.string(),
        expiresAt: z.string(),
      })
      .optional()
      .meta({ description: 'When asked for: the order’s live СБП QR' }),
  })
  .meta({ id: 'OneCOrderOut' });

export const onecPaymentSchema = z
  .object({
    paymentId: z.string(),
    orderId: z.string(),
    orderRef: z.string().nullable().meta({ description: 'The order’s Ref_Key in 1C, when known' }),
    orderNumber: z.string(),
    externalId: z.string(),
    method: z.enum(['card', 'sbp', 'invoice']),
    provider: z.string(),
    providerRef: z.string().nullable(),
    status: z.enum(PAYMENT_STATUSES),
    amount: kopecks,
    refunded: kopecks,
    paidAt: z.string().nullable(),
    updatedAt: z.string(),
    onec: onecStatusSchema,
  })
  .meta({ id: 'OneCPayment' });

// ---------------------------------------------------------------- receipts (registrar mode)

export const createReceiptSchema = z
  .object({
    externalId: z
      .string()
      .trim()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9._:-]+$/, 'latin letters, digits, ".", "_", ":" and "-"')
      .meta({ description: 'The caller’s own id of the receipt, unique per organization: the same id again returns the same receipt' }),
    organization: z.string().optional().meta({ description: 'Organization id; optional when the key serves one organization' }),
    register: z.string().optional().meta({ description: 'The register to use (default: by the organization’s routes)' }),
    pointOfSale: z.string().optional().meta({ description: 'Chooses the register by the organization’s routes' }),
    operation: z.enum(RECEIPT_OPERATIONS),
    date: z.iso.datetime({ offset: true }).optional().meta({ description: 'When the settlement happened (default: now)' }),
    orderId: z.string().optional().meta({ description: 'The gateway order it belongs to, if any' }),
    paymentId: z.string().optional().meta({ description: 'The gateway payment it belongs to (then it is listed on the payment)' }),
    client: z.object({
      email: z.email().max(64).optional(),
      phone: z
        .string()
        .regex(/^\+?[0-9 ()-]{10,20}$/, 'a phone number such as +79001234567')
        .optional(),
      name: z.string().trim().min(1).max(256).optional().meta({ description: 'B2B: the buyer’s name (tag 1227)' }),
      inn: innField.optional().meta({ description: 'B2B: the buyer’s ИНН (tag 1228), check digits validated' }),
    }),
    items: z
      .array(
        z.object({
          name: z.string().trim().min(1).max(128, 'at most 128 characters on a receipt (tag 1030)'),
          price: kopecks,
          quantity: z
            .number()
            .positive()
            .refine((q) => quantityThousandths(q) !== null, 'at most 3 decimal places'),
          amount: kopecks.meta({ description: 'price × quantity, rounded half away from zero to a kopeck' }),
          vat: vatCode,
          paymentMethod: z.enum(PAYMENT_METHODS),
          paymentObject: z
            .union([
              z.enum(Object.keys(PAYMENT_OBJECTS) as [keyof typeof PAYMENT_OBJECTS, ...(keyof typeof PAYMENT_OBJECTS)[]]),
              z.number().int().min(1).max(33),
            ])
            .meta({ description: 'goods, service, payment, ... or the tag 1212 value' }),
          measure: z.number().int().min(0).max(255).default(0),
        }),
      )
      .min(1, 'at least one line')
      .max(100, 'at most 100 lines'),
    payments: z
      .array(
        z.object({
          type: z.enum(Object.keys(PAYMENT_TYPES) as [keyof typeof PAYMENT_TYPES, ...(keyof typeof PAYMENT_TYPES)[]]),
          amount: positiveKopecks,
        }),
      )
      .min(1)
      .max(10),
    total: positiveKopecks,
    correction: z
      .object({ type: z.enum(['self', 'instruction']), baseDate: z.iso.date(), baseNumber: z.string().max(32).optional() })
      .optional()
      .meta({
        description:
          'Correction receipts: self (found by the organization) or instruction (the tax authority’s), the date of the settlement corrected',
      }),
  })
  .meta({ id: 'CreateReceipt' });
export type CreateReceiptInput = z.infer<typeof createReceiptSchema>;
