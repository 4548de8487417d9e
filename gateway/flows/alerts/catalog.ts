import { formatRub, type Kopecks } from '../../domain/money';
import type { Alert } from '../../ports';
import type { JobRow, PaymentOperationsTable, ReceiptRow } from '../../store/schema';

/**
 * Every alert the gateway raises, with the Russian text support reads: what happened, what was
 * (not) changed, and what to do. A flow raises `d.alerts.raise(trx, ALERTS.x(...))`; the key makes
 * an alert one per problem (the same key is sent at most once an hour per channel).
 */

/** What the accountant reads for each kind of receipt. */
export const RECEIPT_KINDS: Record<string, string> = {
  prepayment: 'предоплата 100 %',
  settlement: 'полный расчёт (зачёт предоплаты)',
  full: 'полный расчёт',
  credit: 'передача в кредит',
  credit_payment: 'оплата кредита',
  refund: 'возврат прихода',
  registrar: 'по запросу учётной системы',
};

const kindName = (kind: string) => RECEIPT_KINDS[kind] ?? kind;

/** What the digest calls a kind of alert. */
const KIND_TITLES: Record<string, string> = {
  'dead-job': 'Задания',
  register: 'Кассы',
  monitor: 'Мониторинг',
  cml: 'Обмен с 1С (CommerceML)',
  'onec-failed': 'Записи в 1С',
  'onec-mapping': 'Сопоставление с 1С',
  'invoice-overdue': 'Просроченные счета',
  'operation-review': 'Операции банков на разборе',
  'statement-review': 'Выписки на разборе',
  'history-failed': 'Реестры операций банков',
  'refund-failed': 'Возвраты',
};
const kindTitle = (kind: string) => KIND_TITLES[kind] ?? KIND_TITLES[kind.split('.')[0]!] ?? kind;

/** An ISO moment as Moscow wall time, dd.mm.yyyy hh:mm. */
const moscowTime = (iso: string) =>
  new Intl.DateTimeFormat('ru-RU', { timeZone: 'Europe/Moscow', dateStyle: 'short', timeStyle: 'short' }).format(new Date(iso));

/** The ids a job's payload names (`paymentId`, `orderId`, `receiptId`, …): the alert is found from what it is about. */
function idsOf(payload: string): Record<string, string> {
  try {
    const p = JSON.parse(payload) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(p).filter(([k, v]) => /Id$/.test(k) && typeof v === 'string')) as Record<string, string>;
  } catch {
    return {};
  }
}

export const ALERTS = {
  // ---------------------------------------------------------------- jobs

  /** A job used up its attempts (a job revived and dead again is a new problem: the key names this death). */
  deadJob: (job: JobRow, error: string): Alert => ({
    severity: 'critical',
    key: `dead-job:${job.id}:${job.updated_at}`,
    title: `Задание не выполнено: ${job.name}`,
    text:
      `Задание ${job.name} (${job.id}) остановлено после ${job.attempts} попыток. Последняя ошибка: ${error}. ` +
      `Устраните причину и повторите: POST /api/v1/admin/jobs/${job.id}/retry`,
    context: { jobId: job.id, job: job.name, attempts: job.attempts, ...idsOf(job.payload) },
  }),

  // ---------------------------------------------------------------- payments

  /** The bank reports another amount paid than the payment's. */
  amountMismatch: (a: { paymentId: string; attemptId: string; orderNumber: string; observed: Kopecks; expected: Kopecks }): Alert => ({
    severity: 'critical',
    key: `amount-mismatch:${a.attemptId}`,
    title: 'Сумма оплаты не совпадает с заказом',
    text: `Банк сообщает об оплате ${formatRub(a.observed)} по попытке ${a.orderNumber}, а платёж ${a.paymentId} выставлен на ${formatRub(a.expected)}. Статус платежа не изменён; проверьте операцию в личном кабинете банка.`,
    context: { paymentId: a.paymentId, attemptId: a.attemptId, observed: a.observed, expected: a.expected },
  }),

  /** Money came after the payment was given up (`late`), or for an order already paid. */
  extraPayment: (a: { paymentId: string; orderId: string; amount: Kopecks; late: boolean; statusBefore: string }): Alert => ({
    severity: 'critical',
    key: `extra-payment:${a.paymentId}`,
    title: a.late ? 'Оплата пришла после отмены платежа' : 'Повторная оплата заказа',
    text: a.late
      ? `Платёж ${a.paymentId} был в статусе «${a.statusBefore}», но банк списал деньги. Платёж отмечен оплаченным; проверьте заказ.`
      : `Заказ ${a.orderId} уже был оплачен, и по нему прошла ещё одна оплата ${a.paymentId} на ${formatRub(a.amount)}. Верните лишнюю оплату покупателю.`,
    context: { paymentId: a.paymentId, orderId: a.orderId },
  }),

  /** A callback names another amount than the payment's (forged, or another shop's). */
  callbackAmount: (a: { paymentId: string; attemptId: string; amount: Kopecks; expected: Kopecks }): Alert => ({
    severity: 'critical',
    key: `callback-amount:${a.attemptId}`,
    title: 'Уведомление банка с чужой суммой',
    text: `Банк прислал уведомление по платежу ${a.paymentId} на сумму ${a.amount} коп., а платёж выставлен на ${a.expected} коп. Статус не изменён.`,
    context: { paymentId: a.paymentId, attemptId: a.attemptId },
  }),

  refundRefused: (a: { paymentId: string; refundId: string; amount: Kopecks; reason: string }): Alert => ({
    severity: 'warning',
    key: `refund-failed:${a.refundId}`,
    title: 'Банк отклонил возврат',
    text: `Возврат ${formatRub(a.amount)} по платежу ${a.paymentId} отклонён банком: ${a.reason}`,
    context: { paymentId: a.paymentId, refundId: a.refundId },
  }),

  // ---------------------------------------------------------------- one live payment per order

  /**
   * A second payment of an order already paid, or one taking it over its total by `excess`
   * (organizations[].doublePayment): returned automatically, or for support to return.
   */
  doublePayment: (a: {
    paymentId: string;
    orderId: string;
    orderNumber: string;
    amount: Kopecks;
    excess: Kopecks;
    firstPaymentId: string | null;
    refunding: boolean;
  }): Alert => {
    const double = a.excess >= a.amount;
    const what = double
      ? `Заказ №${a.orderNumber} уже был оплачен${a.firstPaymentId ? ` платежом ${a.firstPaymentId}` : ''}, ` +
        `и по нему прошла ещё одна оплата ${a.paymentId} на ${formatRub(a.amount)}. В 1С она не передаётся: там заказ оплачен один раз. `
      : `Оплата ${a.paymentId} на ${formatRub(a.amount)} превысила остаток по заказу №${a.orderNumber}: переплата ${formatRub(a.excess)}. ` +
        'Оплата передана в 1С как обычно. ';
    return {
      severity: a.refunding ? 'warning' : 'critical',
      key: `double-payment:${a.paymentId}`,
      title: double ? 'Двойная оплата заказа' : 'Переплата по заказу',
      text:
        what +
        (a.refunding
          ? `${double ? 'Деньги возвращаются' : 'Переплата возвращается'} покупателю автоматически (doublePayment: refund); если банк откажет в возврате, придёт отдельное уведомление.`
          : `Верните покупателю ${formatRub(a.excess)}: POST /api/v1/payments/${a.paymentId}/refunds.`),
      context: { paymentId: a.paymentId, orderId: a.orderId, excess: a.excess, firstPaymentId: a.firstPaymentId, refunding: a.refunding },
    };
  },

  // ---------------------------------------------------------------- 1C

  /** A B2B invoice not paid by its due date. */
  invoiceOverdue: (a: {
    paymentId: string;
    number: string;
    date: string;
    dueDate: string;
    amount: number;
    organizationId: string;
    orderNumber: string;
    customerName: string;
    inn?: string;
    daysOverdue: number;
  }): Alert => ({
    severity: 'warning',
    key: `invoice-overdue:${a.paymentId}:${a.dueDate}`,
    title: 'Просрочена оплата счёта',
    text:
      `Счёт № ${a.number} от ${a.date.split('-').reverse().join('.')} на ${formatRub(a.amount as Kopecks)} (заказ №${a.orderNumber}, ` +
      `${a.customerName}${a.inn ? `, ИНН ${a.inn}` : ''}) не оплачен: срок был ${a.dueDate.split('-').reverse().join('.')}, просрочка ${a.daysOverdue} дн. ` +
      'Пока счёт не оплачен, новые заказы с отсрочкой этому покупателю не принимаются (если запрет не снят в его условиях). Список просроченных: GET /api/v1/admin/invoices?state=overdue',
    context: { organizationId: a.organizationId, paymentId: a.paymentId, invoice: a.number, daysOverdue: a.daysOverdue },
  }),

  /** A base whose $metadata does not have what the organization's mapping names: nothing is written into it. */
  onecMappingMismatch: (a: { organizationId: string; mapping: string; errors: string[]; digest: string }): Alert => ({
    severity: 'critical',
    key: `onec-mapping:${a.organizationId}:${a.digest}`,
    title: 'Сопоставление не подходит к базе 1С',
    text:
      `Организация ${a.organizationId}: в базе 1С нет того, что называет сопоставление «${a.mapping}», поэтому оплаты и возвраты в неё не записываются (каждая такая оплата придёт отдельным оповещением с заданием для повтора):\n` +
      `${a.errors.join('\n')}\nИсправьте строки сопоставления (или добавьте объекты в состав OData базы), перезапустите шлюз, проверьте (npx onec-gateway onec check --base ${a.organizationId}) и повторите задания.`,
    context: { organizationId: a.organizationId, problems: a.errors.length },
  }),

  /** A payment or refund that 1C did not take, for good (or after every attempt). */
  onecFailed: (a: {
    id: string;
    paymentId: string;
    refundId: string | null;
    amount: Kopecks;
    orderNumber: string;
    hint: string;
    jobId: string;
    attempt: number;
    kind: string;
  }): Alert => ({
    severity: 'critical',
    key: `onec-failed:${a.id}:${a.jobId}:${a.attempt}`,
    title: a.refundId ? 'Возврат не попал в 1С' : 'Оплата не попала в 1С',
    text:
      `${a.refundId ? 'Возврат' : 'Оплата'} ${formatRub(a.amount)} по заказу №${a.orderNumber} (${a.refundId ? `возврат ${a.id}` : `платёж ${a.id}`}) не записана в 1С. ` +
      `${a.hint} После исправления повторите задание: POST /api/v1/admin/jobs/${a.jobId}/retry`,
    context: { paymentId: a.paymentId, refundId: a.refundId, jobId: a.jobId, kind: a.kind },
  }),

  // ---------------------------------------------------------------- receipts

  /** A receipt the register would refuse as built (recorded failed, never sent). */
  receiptInvalid: (a: {
    receiptId: string;
    kind: string;
    total: Kopecks;
    orderId: string;
    orderNumber: string;
    paymentId: string | null;
    problems: string;
  }): Alert => ({
    severity: 'critical',
    key: `receipt-invalid:${a.receiptId}`,
    title: 'Чек не может быть зарегистрирован',
    text: `Чек «${kindName(a.kind)}» на ${formatRub(a.total)} по заказу №${a.orderNumber} не отправлен в кассу: ${a.problems}. Исправьте данные и повторите: POST /api/v1/admin/receipts/${a.receiptId}/retry`,
    context: { receiptId: a.receiptId, orderId: a.orderId, paymentId: a.paymentId },
  }),

  /** A receipt that could not be built at all (its payment, shipment or refund went on without it). */
  receiptNotBuilt: (a: { event: string; orderId: string; paymentId?: string; reason: string }): Alert => ({
    severity: 'critical',
    key: `receipt-build:${a.event}:${a.paymentId ?? a.orderId}`,
    title: 'Чек не сформирован',
    text: `Чек (${a.event}) по заказу ${a.orderId}${a.paymentId ? `, платёж ${a.paymentId}` : ''} не сформирован: ${a.reason}. Оформите его вручную или через POST /api/v1/receipts (коррекция).`,
    context: { orderId: a.orderId, paymentId: a.paymentId ?? null, event: a.event },
  }),

  /** The register refused or failed a receipt. */
  receiptFailed: (r: ReceiptRow, a: { orderNumber?: string; hint: string; code: string }): Alert => ({
    severity: 'critical',
    key: `receipt-failed:${r.id}:${r.attempt}`,
    title: 'Чек не зарегистрирован',
    text:
      `Чек «${kindName(r.kind)}» на ${formatRub(r.total)}${a.orderNumber ? ` по заказу №${a.orderNumber}` : ''}${r.payment_id ? ` (платёж ${r.payment_id})` : ''} не зарегистрирован кассой ${r.register_id}: ${a.hint} ` +
      `Исправьте причину и повторите: POST /api/v1/admin/receipts/${r.id}/retry`,
    context: { receiptId: r.id, paymentId: r.payment_id, orderId: r.order_id, register: r.register_id, code: a.code },
  }),

  /** A receipt that could not be sent: the register is down for long, refuses the set-up, or something else went wrong. */
  receiptStuck: (r: ReceiptRow, a: { jobId: string; attempt: number; title: string; reason: string; waits?: boolean }): Alert => ({
    severity: 'critical',
    key: `receipt-stuck:${r.id}:${a.jobId}:${a.attempt}`,
    title: a.title,
    text: `Чек ${r.id} на ${formatRub(r.total)} (касса ${r.register_id}) не отправлен: ${a.reason} ${a.waits ? 'Чек ждёт; после' : 'После'} исправления повторите: POST /api/v1/admin/receipts/${r.id}/retry`,
    context: { receiptId: r.id, register: r.register_id, jobId: a.jobId },
  }),

  /** What a register reports about itself (paper, the fiscal storage, the shift). */
  registerProblem: (a: {
    organizationId: string;
    registerId: string;
    problem: { key: string; severity: Alert['severity']; title: string; text: string };
  }): Alert => ({
    severity: a.problem.severity,
    key: `register:${a.organizationId}:${a.registerId}:${a.problem.key}`,
    title: a.problem.title,
    text: a.problem.text,
    context: { organization: a.organizationId, register: a.registerId, problem: a.problem.key },
  }),

  // ---------------------------------------------------------------- the payment history

  historyFailed: (a: { organizationId: string; organizationName: string; provider: string; error: string }): Alert => ({
    severity: 'warning',
    key: `history-failed:${a.organizationId}:${a.provider}`,
    title: 'Не удалось прочитать реестр операций банка',
    text: `Реестр операций ${a.provider} для «${a.organizationName}» не прочитан: ${a.error}. Оплаты без уведомлений банка найдутся при следующем запуске или через опрос статусов.`,
    context: { organization: a.organizationId, provider: a.provider },
  }),

  /** An operation of a bank's registry that fits no order, several, or not its amount: it waits in the review list. */
  operationToReview: (operationId: string, r: PaymentOperationsTable): Alert => ({
    severity: 'warning',
    key: `operation-review:${operationId}`,
    title: r.match_state === 'mismatch' ? 'Оплата не сходится с заказом' : 'Операция банка не сопоставлена с заказом',
    text:
      `${r.kind === 'payment' ? 'Оплата' : 'Возврат'} ${formatRub(r.amount)} (${r.provider}, ${r.provider_ref}${r.order_number ? `, заказ у банка ${r.order_number}` : ''}) от ${r.occurred_at}: ${r.match_note}. ` +
      `Сопоставьте её с заказом: POST /api/v1/admin/operations/${operationId}/match`,
    context: { operationId, provider: r.provider, providerRef: r.provider_ref, amount: r.amount },
  }),

  // ---------------------------------------------------------------- bank statements

  /** Incoming bank lines no invoice fits for sure: one alert per matching run. */
  statementLinesToReview: (organizationId: string, runId: string, count: number, examples: string[]): Alert => ({
    severity: 'warning',
    key: `statement-review:${organizationId}:${runId}`,
    title: 'Поступления из выписки не сопоставлены со счетами',
    text:
      `${count} поступлени${count === 1 ? 'е' : 'й'} из банковской выписки не удалось уверенно отнести к счетам и они ждут разбора, например: ${examples.join('; ')}. ` +
      'Счета по ним не отмечены оплаченными. Сопоставьте их вручную в списке на разбор.',
    context: { organizationId, count },
  }),
  /** A bank transfer names an invoice annulled in 1C (or cancelled here): not paid, it waits in the review list. */
  annulledInvoicePaid: (
    organizationId: string,
    line: { id: string; number: string; date: string; payer: string; amount: Kopecks },
    invoice: { number: string; date: string },
  ): Alert => ({
    severity: 'warning',
    key: `statement-annulled:${organizationId}:${line.id}`,
    title: 'Оплата по аннулированному счёту',
    text:
      `Платёжное поручение №${line.number} от ${line.date} (${line.payer}) на ${formatRub(line.amount)} оплачивает счёт № ${invoice.number} от ${invoice.date.split('-').reverse().join('.')}, ` +
      'а счёт аннулирован. Оплата не зачтена и ждёт разбора: верните деньги плательщику или зачтите их вручную в другой счёт.',
    context: { organizationId, line: line.id, invoice: invoice.number },
  }),
  /** The bank's statement API could not be read: transfers are not seen until it is. */
  statementApiFailed: (a: { organizationId: string; organizationName: string; source: string; error: string }): Alert => ({
    severity: 'critical',
    key: `statement-api-failed:${a.organizationId}:${a.source}`,
    title: 'Не удалось прочитать выписку банка',
    text:
      `Выписка по счёту «${a.organizationName}» (${a.source}) не прочитана: ${a.error}. ` +
      'Оплаты счетов переводом не отмечаются, пока выписка не читается; ничего не изменено. Шлюз повторит чтение по расписанию.',
    context: { organization: a.organizationId, source: a.source },
  }),
  /** A monitoring rule past its threshold (once per episode: the key holds when it began). */
  monitorFiring: (
    rule: { name: string; title: string; severity: 'critical' | 'warning' },
    since: string,
    detail: string,
    value: number,
  ): Alert => ({
    severity: rule.severity,
    key: `monitor:${rule.name}:${since}`,
    kind: `monitor.${rule.name}`,
    title: rule.title,
    text: detail,
    context: { rule: rule.name, value, since },
  }),
  /** The same episode cleared: «решено» goes where the alert went. */
  monitorResolved: (rule: { name: string; title: string }, since: string, value: number): Alert => ({
    severity: 'info',
    key: `monitor:${rule.name}:${since}:resolved`,
    kind: `monitor.${rule.name}`,
    resolves: `monitor:${rule.name}:${since}`,
    title: `Решено: ${rule.title}`,
    text: `«${rule.title}» больше не наблюдается (с ${moscowTime(since)} МСК); текущее значение: ${value}.`,
    context: { rule: rule.name, value, since, resolved: true },
  }),

  // ---------------------------------------------------------------- «решено» and the digest

  /** The problem of an alert (not a monitoring rule's) cleared: a dead job done after a retry, a register back to normal. */
  resolved: (original: { key: string; kind: string; title: string }, text: string, context: Alert['context'] = {}): Alert => ({
    severity: 'info',
    key: `${original.key}:resolved`,
    kind: original.kind,
    resolves: original.key,
    title: `Решено: ${original.title}`,
    text,
    context: { ...context, resolved: true },
  }),

  /** The daily digest: the alerts routed to it since the last one, grouped by kind, each title with its count. */
  digest: (day: string, groups: { kind: string; items: { title: string; severity: string; count: number }[] }[], total: number): Alert => ({
    severity: 'info',
    key: `digest:${day}`,
    kind: 'digest',
    title: `Сводка оповещений за ${day.split('-').reverse().join('.')}: ${total}`,
    text:
      groups
        .map(
          (g) =>
            `${kindTitle(g.kind)}:\n` +
            g.items
              .map((i) => `• ${i.title}${i.count > 1 ? ` ×${i.count}` : ''}${i.severity === 'critical' ? ' (критично)' : ''}`)
              .join('\n'),
        )
        .join('\n\n') + '\n\nПодробности и открытые оповещения: /admin.',
    context: { day, total },
  }),

  statementOverpayments: (
    organizationId: string,
    runId: string,
    /** The first of them at least (ten are shown). */
    lines: { number: string; payer: string; advance: Kopecks }[],
    count: number = lines.length,
  ): Alert => ({
    severity: 'info',
    key: `statement-overpaid:${organizationId}:${runId}`,
    title: 'Переплата по счетам',
    text:
      `Покупатели заплатили больше, чем было к оплате по счетам (${count}): ` +
      lines
        .slice(0, 10)
        .map((l) => `п/п №${l.number} от ${l.payer} — аванс ${formatRub(l.advance)}`)
        .join('; ') +
      `${count > 10 ? '; …' : ''}. Излишек учтён как аванс покупателя; верните его или зачтите в следующий счёт.`,
    context: { organizationId, count },
  }),

  // ---------------------------------------------------------------- 1C's exchange (CommerceML); the operator reads the same text in 1C

  exchange: {
    unknownOrderOfDocument: (doc: { operation: string; number: string; basis?: string }): Alert =>
      exchangeAlert(
        `unknown:${doc.basis ?? doc.number}`,
        'Документ 1С для неизвестного заказа',
        `Документ ${doc.operation} №${doc.number} ссылается на заказ «${doc.basis ?? '?'}», которого нет на сайте; пропущен.`,
        { document: doc.number, basis: doc.basis ?? null },
      ),
    totalDiffers: (order: { id: string; number: string; total: Kopecks }, onecTotal: Kopecks): Alert =>
      exchangeAlert(
        `amount:${order.id}:${onecTotal}`,
        'Сумма заказа в 1С отличается',
        `Заказ №${order.number}: сумма в 1С ${formatRub(onecTotal)}, на сайте ${formatRub(order.total)}. Суммы на сайте не изменены; проверьте заказ.`,
        { orderId: order.id, onec: onecTotal, site: order.total },
      ),
    paidHereUnpaidThere: (order: { id: string; number: string; paid_amount: Kopecks }): Alert =>
      exchangeAlert(
        `unpaid:${order.id}`,
        'Оплаченный заказ в 1С не оплачен',
        `Заказ №${order.number} оплачен на сайте (${formatRub(order.paid_amount)}), а 1С передала его как неоплаченный. На сайте оплата сохранена; проверьте, дошёл ли документ оплаты в 1С.`,
        { orderId: order.id },
      ),
    paidOrderCancelled: (order: { id: string; number: string; paid_amount: Kopecks; refunded_amount: Kopecks }): Alert =>
      exchangeAlert(
        `cancel-paid:${order.id}`,
        'В 1С отменён оплаченный заказ',
        `Заказ №${order.number} отменён в 1С, но на сайте он оплачен (${formatRub(order.paid_amount - order.refunded_amount)}). Заказ на сайте не отменён: оформите возврат покупателю.`,
        { orderId: order.id },
      ),
    unknownOrder: (doc: { number: string; id: string }): Alert =>
      exchangeAlert(
        `unknown:${doc.number}`,
        'Заказ из 1С не найден на сайте',
        `Заказ №${doc.number} (Ид ${doc.id}) из 1С не найден на сайте и не содержит строк для создания; пропущен.`,
        { number: doc.number, id: doc.id },
      ),
    orderRefused: (number: string, reason: string): Alert =>
      exchangeAlert(`bad:${number}`, 'Заказ из 1С не принят', `Заказ №${number} из 1С не принят: ${reason}`, { number }),
    /** A site order whose number 1C cannot find again (String(11)): left out of `query`. */
    numberTooLong: (order: { id: string; number: string }, base: string, max: number): Alert =>
      exchangeAlert(
        `long-number:${base}:${order.id}`,
        'Заказ не передан в 1С: длинный номер',
        `Заказ №${order.number} не передан в 1С: номер длиннее ${max} символов. 1С (база обмена «${base}») ищет загруженный заказ по номеру с сайта в поле из ${max} символов и при каждом обмене создавала бы новый заказ. Введите этот заказ в 1С вручную или оформите его на сайте заново с коротким номером.`,
        { orderId: order.id, number: order.number, base },
      ),
    /** A site order 1C's CommerceML package would refuse (and with it the whole answer): left out of `query`. */
    notSent: (order: { id: string; number: string }, base: string, reason: string, detail?: string): Alert =>
      exchangeAlert(
        `not-sent:${base}:${order.id}`,
        'Заказ не передан в 1С',
        `Заказ №${order.number} не передан в 1С (база обмена «${base}»): ${reason}. С таким документом 1С отвергла бы весь обмен, поэтому заказ пропущен, остальные переданы. Заказ ждёт в очереди обмена и уйдёт в 1С, когда будет исправлен; до тех пор при необходимости введите его в 1С вручную.`,
        { orderId: order.id, number: order.number, base, detail: detail ?? null },
      ),
  },
} as const;

function exchangeAlert(key: string, title: string, text: string, context: Record<string, string | number | null>): Alert {
  return { severity: 'warning', key: `cml:${key}`, title, text, context };
}
