import { toRubleString } from '../../gateway/domain/money';
import { OneCError, type OneCCheck, type OneCDocumentRef, type OneCPaymentDoc, type OneCSink } from '../../gateway/ports';
import { checkMapping, formatProblems, parseMetadata, type DocumentKind, type MappingProblem } from './check';
import { EMPTY_REF, lit, type ODataClient, type ODataObject } from './client';
import { mappingLines, onecDate, render, type DocumentSpec, type Mapping, type TemplateContext } from './mapping';

export interface SinkOptions {
  /** The mapping's file (for the lines the check names). */
  mappingFile?: string;
  /** The documents this organization writes (the others are only warned about). */
  documents?: DocumentKind[];
  /** Check the mapping against the base's $metadata before the first write (default true). */
  check?: boolean;
}

/** How long a failed check stands before the base is asked again (a publication fixed meanwhile is seen). */
const FAILED_CHECK_MS = 60_000;

/**
 * Payments into 1C over the standard OData interface, exactly once: the document carries the
 * gateway's marker and is looked up before anything is written; it is created unposted, read back
 * and compared (1C cuts long strings silently), then posted and read back again. Nothing is written
 * into a base whose `$metadata` does not have what the mapping names (checked once, before the
 * first delivery).
 */
export class ODataSink implements OneCSink {
  readonly transport = 'odata' as const;

  constructor(
    private readonly client: ODataClient,
    private readonly mapping: Mapping,
    /** Refs from the organization's config: acquiringTerminal, bankAccount, cashFlowItem... */
    private readonly refs: Record<string, string>,
    private readonly opts: SinkOptions = {},
  ) {}

  private checked: { at: number; problems: MappingProblem[] } | null = null;
  private checking: Promise<MappingProblem[]> | null = null;

  /**
   * The mapping against the base's `$metadata`: what the base does not have or what does not fit,
   * with the mapping line to fix. Asked once per process when it passes; a failure is asked again
   * after a minute.
   */
  async check(): Promise<MappingProblem[]> {
    if (this.checked && (this.checked.problems.every((p) => p.severity !== 'error') || Date.now() - this.checked.at < FAILED_CHECK_MS))
      return this.checked.problems;
    this.checking ??= (async () => {
      try {
        const model = parseMetadata(await this.client.metadata());
        const line = this.opts.mappingFile ? mappingLines(this.opts.mappingFile) : undefined;
        const problems = checkMapping(this.mapping, model, { documents: this.opts.documents, line });
        this.checked = { at: Date.now(), problems };
        return problems;
      } finally {
        this.checking = null;
      }
    })();
    return this.checking;
  }

  async verify(): Promise<OneCCheck> {
    const problems = await this.check();
    return {
      errors: this.describe(problems.filter((p) => p.severity === 'error')),
      warnings: this.describe(problems.filter((p) => p.severity === 'warning')),
    };
  }

  /** Problems as lines (`file:line key: message`), errors first. */
  describe(problems: MappingProblem[]): string[] {
    return formatProblems(this.opts.mappingFile ?? this.mapping.name, problems);
  }

  private async gate(): Promise<void> {
    if (this.opts.check === false) return;
    const errors = (await this.check()).filter((p) => p.severity === 'error');
    if (errors.length === 0) return;
    const lines = this.describe(errors);
    throw new OneCError(
      'mapping',
      `mapping ${this.mapping.name} does not fit the base: ${lines.join('; ')}`,
      `Сопоставление «${this.mapping.name}» не подходит к базе 1С, ничего не записано: ${lines.join('; ')}. Исправьте сопоставление (или состав OData базы) и повторите; проверка: npx onec-gateway onec check.`,
    );
  }

  ping(): Promise<void> {
    return this.client.ping();
  }

  spec(doc: Pick<OneCPaymentDoc, 'kind' | 'method'>): DocumentSpec {
    const d = this.mapping.documents;
    if (doc.kind === 'refund') {
      const spec = doc.method === 'invoice' ? d.refundInvoice : doc.method === 'sbp' ? (d.refundSbp ?? d.refundCard) : d.refundCard;
      if (!spec)
        throw new OneCError(
          'mapping',
          `mapping ${this.mapping.name}: no document for ${doc.method} refunds`,
          `В сопоставлении «${this.mapping.name}» не задан документ возврата для способа ${doc.method}.`,
        );
      return spec;
    }
    return doc.method === 'invoice' ? d.invoice : doc.method === 'sbp' ? (d.sbp ?? d.card) : d.card;
  }

  async deliver(doc: OneCPaymentDoc): Promise<OneCDocumentRef> {
    await this.gate();
    const spec = this.spec(doc);
    const marker = markerValue(doc.marker, spec.markerLength);
    const existing = await this.findByMarker(spec, marker);
    if (existing?.Posted) return this.ref(spec, existing);
    if (!existing) {
      // the accountant imported the same statement into 1C: that document is the payment, no second one
      const imported = await this.findImported(doc, spec);
      if (imported) return this.ref(spec, imported);
    }

    const order = await this.resolveOrder(doc);
    let ref: string;
    if (existing) {
      // written before, not posted (posting failed, or the process died in between)
      ref = existing.Ref_Key!;
    } else {
      await this.checkOrder(doc, order);
      const body = this.build(doc, spec, order, marker);
      const created = await this.client.create(spec.entity, body);
      if (!created?.Ref_Key)
        throw new OneCError('rejected', `${spec.entity}: created without Ref_Key`, 'База 1С не вернула ссылку на созданный документ.');
      ref = created.Ref_Key;
      await this.readBack(spec, ref, body);
    }
    await this.client.post(spec.entity, ref);
    const posted = await this.client.get(spec.entity, ref);
    if (!posted?.Posted)
      throw new OneCError(
        'rejected',
        `${spec.entity} ${ref}: still not posted after Post`,
        `Документ ${spec.entity} записан, но не проведён. Проведите его в 1С вручную или проверьте права.`,
      );
    if (doc.kind === 'payment' && this.mapping.order.paidStatus && this.mapping.order.fields.status) {
      await this.client.patch(this.mapping.order.entity, String(order.Ref_Key), {
        [this.mapping.order.fields.status]: this.mapping.order.paidStatus,
      });
    }
    return this.ref(spec, posted);
  }

  private ref(spec: DocumentSpec, o: ODataObject): OneCDocumentRef {
    return { ref: String(o.Ref_Key), entity: spec.entity, number: o.Number ? String(o.Number) : undefined, posted: Boolean(o.Posted) };
  }

  private async findByMarker(spec: DocumentSpec, marker: string): Promise<ODataObject | null> {
    const found = await this.client.list(spec.entity, {
      filter: `${spec.marker} eq ${lit.string(marker)} and DeletionMark eq false`,
      select: ['Ref_Key', 'Number', 'Posted'],
      top: 2,
    });
    return found[0] ?? null;
  }

  /**
   * The bank receipt 1C already holds for the payment order of a bank transfer (a statement imported
   * by the accountant): the same incoming number, date and amount, not deleted, of the payer's ИНН
   * when both sides know it. A posted one is adopted; one not posted yet stops the delivery (it would
   * be doubled once posted) until the accountant posts it or marks it for deletion.
   */
  async findImported(doc: OneCPaymentDoc, spec: DocumentSpec): Promise<ODataObject | null> {
    const inc = spec.incoming;
    if (!inc || doc.kind !== 'payment' || doc.method !== 'invoice' || !doc.providerRef || !doc.bankDate) return null;
    const number = doc.providerRef.slice(-11);
    const found = await this.client.list(spec.entity, {
      filter: [
        `${inc.number} eq ${lit.string(number)}`,
        `${inc.date} eq ${lit.datetime(`${doc.bankDate}T00:00:00`)}`,
        `${spec.amountField} eq ${toRubleString(doc.amount)}`,
        'DeletionMark eq false',
        spec.kindFilter,
      ]
        .filter(Boolean)
        .join(' and '),
      select: [...new Set(['Ref_Key', 'Number', 'Posted', inc.counterparty, spec.marker])],
      top: 20,
    });
    const inn = doc.customer.inn?.trim();
    const candidates: ODataObject[] = [];
    for (const d of found) {
      // the gateway's own receipt of another share of the same transfer is not the accountant's import
      if (writtenByGateway(String(d[spec.marker] ?? ''), spec.markerLength)) continue;
      if (inn) {
        const payerInn = await this.counterpartyInn(String(d[inc.counterparty] ?? ''));
        if (payerInn && payerInn !== inn) continue;
      }
      candidates.push(d);
    }
    const posted = candidates.find((d) => d.Posted);
    if (posted) return posted;
    if (candidates.length === 0) return null;
    throw new OneCError(
      'data',
      `${spec.entity} ${String(candidates[0].Ref_Key)}: the same incoming document ${number} of ${doc.bankDate}, not posted`,
      `В 1С уже есть непроведённый документ ${spec.entity} (№ ${String(candidates[0].Number ?? '')}) по тому же платёжному поручению № ${number} от ${doc.bankDate.split('-').reverse().join('.')} на ${toRubleString(doc.amount)} ₽ — вероятно, бухгалтер загрузил ту же выписку. Второй документ не создан: проведите его (шлюз примет его как оплату) или пометьте на удаление, затем повторите задание.`,
    );
  }

  private readonly inns = new Map<string, string | null>();

  /** The ИНН of a counterparty (null when 1C has none), asked once per process. */
  async counterpartyInn(ref: string): Promise<string | null> {
    const c = this.mapping.counterparty;
    if (!c.fields.inn || !ref || ref === EMPTY_REF) return null;
    if (!this.inns.has(ref)) {
      const o = await this.client.get(c.entity, ref, [c.fields.inn]);
      this.inns.set(ref, o ? String(o[c.fields.inn] ?? '').trim() || null : null);
    }
    return this.inns.get(ref)!;
  }

  /** The 1C order the payment settles: by its ref when the gateway knows it, else by number. */
  async resolveOrder(doc: Pick<OneCPaymentDoc, 'order'>): Promise<ODataObject> {
    const o = this.mapping.order;
    if (doc.order.onecRef) {
      const found = await this.client.get(o.entity, doc.order.onecRef);
      if (!found || found.DeletionMark) {
        throw new OneCError(
          'data',
          `${o.entity} ${doc.order.onecRef} not found`,
          `Заказ ${doc.order.number} (ссылка ${doc.order.onecRef}) не найден в 1С или помечен на удаление.`,
        );
      }
      return found;
    }
    const found = await this.client.list(o.entity, {
      filter: `${o.lookupBy} eq ${lit.string(doc.order.number)} and DeletionMark eq false`,
      top: 2,
    });
    if (found.length === 0)
      throw new OneCError(
        'order_missing',
        `${o.entity} number ${doc.order.number} not found`,
        `Заказ №${doc.order.number} не найден в 1С. Проверьте номер заказа или передайте ссылку 1С на заказ.`,
      );
    if (found.length > 1)
      throw new OneCError(
        'data',
        `${o.entity} number ${doc.order.number}: several`,
        `В 1С несколько заказов №${doc.order.number}. Передайте ссылку 1С на заказ.`,
      );
    return found[0];
  }

  /** The same total on both sides, and not more paid than the order asks for. */
  private async checkOrder(doc: OneCPaymentDoc, order: ODataObject): Promise<void> {
    if (doc.kind !== 'payment') return;
    const total = kopecksOf(order[this.mapping.order.fields.total]);
    if (total !== doc.order.total) {
      throw new OneCError(
        'data',
        `order ${doc.order.number}: 1C total ${total} != gateway total ${doc.order.total}`,
        `Сумма заказа №${doc.order.number} в 1С (${toRubleString(total)} ₽) отличается от суммы заказа на сайте (${toRubleString(doc.order.total)} ₽). Документ оплаты не создан: сверьте заказ.`,
      );
    }
    const paid = await this.paidIn1C(order, this.spec(doc).entity);
    if (paid + doc.amount > total) {
      throw new OneCError(
        'data',
        `order ${doc.order.number}: already paid ${paid} of ${total} in 1C`,
        `Заказ №${doc.order.number} уже оплачен в 1С (${toRubleString(paid)} ₽ из ${toRubleString(total)} ₽); новая оплата ${toRubleString(doc.amount)} ₽ его превысит. Документ не создан: проверьте, не внесена ли оплата вручную, и при необходимости оформите возврат.`,
      );
    }
  }

  /** Posted, not deleted payment documents settling the order, minus refunds, in kopecks. */
  private async paidIn1C(order: ODataObject, current: string): Promise<number> {
    const d = this.mapping.documents;
    const seen = new Set<string>();
    let paid = 0;
    for (const [spec, sign] of [
      [d.card, 1],
      [d.sbp, 1],
      [d.invoice, 1],
      [d.refundCard, -1],
      [d.refundSbp, -1],
      [d.refundInvoice, -1],
    ] as const) {
      if (!spec || seen.has(`${spec.entity}|${spec.kindFilter}`)) continue;
      seen.add(`${spec.entity}|${spec.kindFilter}`);
      let docs: ODataObject[];
      try {
        docs = await this.client.list(spec.entity, {
          filter: [`Posted eq true`, `DeletionMark eq false`, this.settlementFilter(spec, order), spec.kindFilter]
            .filter(Boolean)
            .join(' and '),
          select: ['Ref_Key', spec.amountField],
        });
      } catch (e) {
        // a base that takes no bank transfers need not publish their document: nothing is paid through it
        if (e instanceof OneCError && e.kind === 'not_published' && spec.entity !== current) continue;
        throw e;
      }
      for (const x of docs) paid += sign * kopecksOf(x[spec.amountField]);
    }
    return paid;
  }

  /** `Rows/any(d: d/ОбъектРасчетов_Key eq guid'…')`, or `…/Заказ eq cast(guid'…','Document_…')`. */
  private settlementFilter(spec: DocumentSpec, order: ODataObject): string {
    const s = this.mapping.settlement;
    const fields = s[s.by]!;
    const field = Object.keys(fields).find((k) => !k.endsWith('_Type'))!;
    if (s.by === 'object') {
      const obj = String(order[this.mapping.order.fields.settlementObject ?? ''] ?? '');
      if (!obj || obj === EMPTY_REF)
        throw new OneCError(
          'mapping',
          'order has no settlement object',
          `У заказа в 1С не заполнен объект расчётов (${this.mapping.order.fields.settlementObject}). Если релиз старше 11.5, укажите в сопоставлении settlement.by: order.`,
        );
      return `${spec.rows.section}/any(d: d/${field} eq ${lit.guid(obj)})`;
    }
    const type = String(fields[`${field}_Type`] ?? '').replace(/^StandardODATA\./, '');
    return `${spec.rows.section}/any(d: d/${field} eq cast(${lit.guid(String(order.Ref_Key))},'${type}'))`;
  }

  private context(doc: OneCPaymentDoc, order: ODataObject): TemplateContext {
    const f = this.mapping.order.fields;
    const field = (name?: string) => (name ? order[name] : undefined);
    return {
      payment: {
        id: doc.marker,
        marker: doc.marker,
        kind: doc.kind,
        amount: Number(toRubleString(doc.amount)),
        date: onecDate(doc.date, this.mapping.timeZone),
        method: doc.method,
        methodName: METHOD_NAMES[doc.method],
        provider: doc.provider,
        providerRef: doc.providerRef ?? '—',
        incomingNumber: (doc.providerRef ?? doc.marker.replace(/-/g, '')).slice(-11),
        // the payment order's own date for a bank transfer; else when the money moved
        incomingDate: doc.bankDate ? `${doc.bankDate}T00:00:00` : onecDate(doc.date, this.mapping.timeZone),
      },
      order: {
        ref: order.Ref_Key,
        number: field(f.number),
        date: field(f.date),
        total: field(f.total),
        partner: field(f.partner),
        counterparty: field(f.counterparty),
        organization: field(f.organization),
        agreement: field(f.agreement),
        settlementObject: field(f.settlementObject),
        externalId: doc.order.externalId,
      },
      refs: this.refs,
      original: doc.original ? { marker: doc.original.marker, ref: doc.original.onecRef ?? undefined } : undefined,
    };
  }

  build(doc: OneCPaymentDoc, spec: DocumentSpec, order: ODataObject, marker: string): Record<string, unknown> {
    const ctx = this.context(doc, order);
    const s = this.mapping.settlement;
    const row = { LineNumber: 1, ...render(spec.rows.fields, ctx), ...render(s[s.by]!, ctx) };
    return { ...render(spec.fields, ctx), [spec.marker]: marker, [spec.rows.section]: [row] };
  }

  /**
   * Reads the new document back and compares every field sent: a field the base does not have is
   * silently dropped by 1C, a long string is cut. A mismatch marks the document for deletion (so no
   * half-right document stays) and stops with a mapping error naming the field.
   */
  private async readBack(spec: DocumentSpec, ref: string, sent: Record<string, unknown>): Promise<void> {
    const back = await this.client.get(spec.entity, ref);
    if (!back)
      throw new OneCError('rejected', `${spec.entity} ${ref}: not found right after creation`, 'Созданный документ не читается из 1С.');
    const problems: string[] = [];
    for (const [k, v] of Object.entries(sent)) {
      if (k === spec.rows.section) continue;
      const why = differs(v, back[k]);
      if (why) problems.push(`${k}: ${why}`);
    }
    const rows = back[spec.rows.section];
    const sentRow = (sent[spec.rows.section] as Record<string, unknown>[])[0];
    if (!Array.isArray(rows) || rows.length !== 1)
      problems.push(`${spec.rows.section}: ${Array.isArray(rows) ? rows.length : 'no'} rows stored`);
    else {
      for (const [k, v] of Object.entries(sentRow)) {
        if (k === 'LineNumber') continue;
        const why = differs(v, (rows[0] as Record<string, unknown>)[k]);
        if (why) problems.push(`${spec.rows.section}.${k}: ${why}`);
      }
    }
    if (problems.length === 0) return;
    await this.client.patch(spec.entity, ref, { DeletionMark: true }).catch(() => undefined);
    throw new OneCError(
      'mapping',
      `${spec.entity} ${ref} read back differs: ${problems.join('; ')}`,
      `1С сохранила документ ${spec.entity} не так, как его передал шлюз (${problems.join('; ')}). Вероятно, в сопоставлении (mapping) указано поле, которого нет в базе, или значение длиннее поля. Документ помечен на удаление; исправьте сопоставление и повторите задание.`,
    );
  }
}

function differs(sent: unknown, stored: unknown): string | null {
  if (stored === undefined) return 'the base has no such field';
  if (typeof sent === 'number') return Math.abs(Number(stored) - sent) < 0.005 ? null : `sent ${sent}, stored ${String(stored)}`;
  if (typeof sent === 'string') {
    const a = sent.toLowerCase();
    const b = String(stored).toLowerCase();
    if (a === b || (a.length === 19 && b.startsWith(a))) return null; // dates may come back with fractions
    return `sent "${sent.slice(0, 40)}", stored "${String(stored).slice(0, 40)}"`;
  }
  return sent === stored ? null : `sent ${String(sent)}, stored ${String(stored)}`;
}

export function kopecksOf(rubles: unknown): number {
  return Math.round(Number(rubles ?? 0) * 100);
}

const METHOD_NAMES: Record<OneCPaymentDoc['method'], string> = { card: 'Банковская карта', sbp: 'СБП', invoice: 'Счёт' };

/**
 * The marker as the document stores it: the id itself when it fits the field, else the UUID's bytes in
 * base64url — all 16 in 22 characters, or as many as fit a shorter field (15 in 20, at least 12 in 16)
 * — 1C would silently cut a longer one and never find it again.
 */
export function markerValue(marker: string, maxLength: number): string {
  if (marker.length <= maxLength) return marker;
  const hex = marker.replace(/-/g, '');
  if (/^[0-9a-f]{32}$/i.test(hex) && maxLength >= 16)
    return Buffer.from(hex, 'hex')
      .subarray(0, Math.min(16, Math.floor((maxLength * 3) / 4)))
      .toString('base64url');
  throw new OneCError(
    'mapping',
    `marker ${marker} does not fit ${maxLength} characters`,
    `Поле отметки шлюза в документе 1С слишком короткое (${maxLength} символов; нужно не меньше 16).`,
  );
}

/**
 * The gateway's id a marker field's value may stand for (see markerValue): the id itself, or the
 * leading characters of the UUID whose bytes a shorter field keeps in base64url. Null when the value
 * cannot be a marker (a payment order's number in a field the accountant fills).
 */
export function markerIdOf(value: string, maxLength: number): string | null {
  const v = value.trim();
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v)) return v.toLowerCase();
  const bytes = Math.min(16, Math.floor((maxLength * 3) / 4));
  if (bytes < 12 || v.length !== Math.ceil((bytes * 4) / 3) || !/^[A-Za-z0-9_-]+$/.test(v)) return null;
  const hex = Buffer.from(v, 'base64url').toString('hex');
  if (hex.length !== bytes * 2) return null;
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].filter(Boolean).join('-');
}

/**
 * Whether a marker field holds a gateway's id: the gateway's ids are time-ordered UUIDs (version 7),
 * where 1C fills the field with its own new UUIDs (version 4) on documents written in the base.
 */
export function writtenByGateway(value: string, maxLength: number): boolean {
  const id = markerIdOf(value, maxLength);
  return id !== null && /^[0-9a-f]{8}-[0-9a-f]{4}-7/.test(id);
}
