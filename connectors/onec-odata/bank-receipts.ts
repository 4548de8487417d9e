import { OneCError, type StatementBatch, type StatementLine, type StatementParty, type StatementSource } from '../../gateway/ports';
import type { Kopecks } from '../../gateway/domain/money';
import { EMPTY_DATE, EMPTY_REF, lit, type ODataClient, type ODataObject } from './client';
import { onecDate, type Mapping } from './mapping';
import { kopecksOf, markerIdOf } from './sink';

export interface BankReceiptsOptions {
  /** The first read (no cursor yet) starts this many days back: older documents are 1C's own business. */
  firstDays?: number;
  /** Each read starts this many days before the cursor: a document dated back (a statement imported late) or posted later is still seen. */
  overlapDays?: number;
  pageSize?: number;
  /** Counterparties and accounts read are kept this long. */
  cacheMs?: number;
  now?: () => Date;
}

interface Cached<T> {
  at: number;
  value: T;
}

/**
 * 1C's own bank receipts as a statement source: the incoming payments the accountant imported into the
 * base (УТ: ПоступлениеБезналичныхДенежныхСредств, operation ПоступлениеОплатыОтКлиента; УНФ:
 * ПоступлениеНаСчет, ОтПокупателя — the mapping's invoice document), posted and not deleted, read by
 * their date from the cursor back `overlapDays`, a page at a time. Each becomes a canonical line: the
 * payment order's number and date from the incoming number and date, the payer's name, ИНН and КПП
 * from the counterparty catalog, the amount in kopecks, the purpose and the УИП, and the document
 * itself (`onec`). Documents the gateway wrote itself are given out too, with the id their marker field
 * holds (`onec.markerId`): only the gateway's store knows its ids.
 */
export class OneCBankReceiptSource implements StatementSource {
  readonly name = 'onec';
  private readonly parties = new Map<string, Cached<StatementParty>>();
  private readonly accounts = new Map<string, Cached<string>>();

  constructor(
    private readonly client: ODataClient,
    private readonly mapping: Mapping,
    private readonly opts: BankReceiptsOptions = {},
  ) {}

  /** The cursor is the latest document date read (1C's local `yyyy-mm-ddThh:mm:ss`). */
  async incomingSince(cursor: string | null): Promise<StatementBatch> {
    const spec = this.mapping.documents.invoice;
    const inc = spec.incoming;
    if (!inc)
      throw new OneCError(
        'mapping',
        `mapping ${this.mapping.name}: documents.invoice.incoming is not given`,
        `В сопоставлении «${this.mapping.name}» не указано, где в документе ${spec.entity} номер и дата платёжного поручения (documents.invoice.incoming): банковские документы 1С не прочитать.`,
      );
    const now = this.opts.now?.() ?? new Date();
    const today = onecDate(now.toISOString(), this.mapping.timeZone);
    const start = cursor ?? shiftDays(today, -(this.opts.firstDays ?? 3));
    const from = shiftDays(start, -(this.opts.overlapDays ?? 3));
    const filter = ['Posted eq true', 'DeletionMark eq false', `Date ge ${lit.datetime(`${from}T00:00:00`)}`, spec.kindFilter]
      .filter(Boolean)
      .join(' and ');
    const select = [
      'Ref_Key',
      'Number',
      'Date',
      spec.amountField,
      spec.marker,
      inc.number,
      inc.date,
      inc.counterparty,
      ...[inc.purpose, inc.uip, inc.account].filter((f): f is string => Boolean(f)),
    ];
    const size = this.opts.pageSize ?? 200;
    const lines: StatementLine[] = [];
    let last = cursor;
    for (let skip = 0; ; skip += size) {
      const page = await this.client.list(spec.entity, {
        filter,
        select: [...new Set(select)],
        orderby: 'Date asc,Ref_Key asc',
        top: size,
        skip,
      });
      for (const d of page) {
        const line = await this.line(d);
        if (line) lines.push(line);
        const date = String(d.Date ?? '').slice(0, 19);
        if (!last || date > last) last = date;
      }
      if (page.length < size) break;
    }
    return { lines, cursor: last ?? start };
  }

  /** One document as a canonical line (null for one with no amount). */
  async line(d: ODataObject): Promise<StatementLine | null> {
    const spec = this.mapping.documents.invoice;
    const inc = spec.incoming!;
    const amount = kopecksOf(d[spec.amountField]) as Kopecks;
    if (!(amount > 0)) return null;
    const day = (v: unknown) => (typeof v === 'string' && v && !v.startsWith(EMPTY_DATE.slice(0, 10)) ? v.slice(0, 10) : null);
    const docDate = day(d.Date)!;
    const number = String(d[inc.number] ?? '').trim();
    const markerId = markerIdOf(String(d[spec.marker] ?? ''), spec.markerLength);
    // where the marker shares the field with the payment order's number (УНФ), the gateway's own document has no number of its own
    const incomingNumber = spec.marker === inc.number && markerId ? '' : number;
    const str = (f: string | undefined) => (f ? String(d[f] ?? '').trim() : '');
    return {
      account: inc.account && inc.accountEntity ? await this.accountNumber(str(inc.account), inc.accountEntity, inc.accountNumber) : '',
      direction: 'incoming',
      kind: 'Платежное поручение',
      // a document without the payment order's number is still one line: 1C's own number stands in
      number: incomingNumber || String(d.Number ?? '').trim(),
      date: day(d[inc.date]) ?? docDate,
      amount,
      bankDate: docDate,
      payer: await this.party(str(inc.counterparty)),
      receiver: { name: '', inn: null, kpp: null, account: null, bankBik: null, bankName: null },
      purpose: str(inc.purpose),
      uip: str(inc.uip) || null,
      onec: { ref: String(d.Ref_Key), number: d.Number ? String(d.Number) : null, markerId },
    };
  }

  private fresh<T>(c: Cached<T> | undefined): c is Cached<T> {
    return c !== undefined && Date.now() - c.at < (this.opts.cacheMs ?? 3_600_000);
  }

  /** The payer as the counterparty catalog knows it: name, ИНН, КПП. */
  private async party(ref: string): Promise<StatementParty> {
    const none: StatementParty = { name: '', inn: null, kpp: null, account: null, bankBik: null, bankName: null };
    if (!ref || ref === EMPTY_REF) return none;
    const hit = this.parties.get(ref);
    if (this.fresh(hit)) return hit.value;
    const c = this.mapping.counterparty;
    const f = c.fields;
    const o = await this.client.get(
      c.entity,
      ref,
      [f.name, f.fullName, f.inn, f.kpp].filter((x): x is string => Boolean(x)),
    );
    const s = (k?: string) => (k && o ? String(o[k] ?? '').trim() : '');
    const party: StatementParty = {
      ...none,
      name: s(f.fullName) || s(f.name),
      inn: s(f.inn) || null,
      kpp: s(f.kpp) || null,
    };
    this.parties.set(ref, { at: Date.now(), value: party });
    return party;
  }

  /** The number of the organization's account (20 digits), or '' when 1C does not say. */
  private async accountNumber(ref: string, entity: string, field: string): Promise<string> {
    if (!ref || ref === EMPTY_REF) return '';
    const hit = this.accounts.get(ref);
    if (this.fresh(hit)) return hit.value;
    let number = '';
    try {
      const o = await this.client.get(entity, ref, [field]);
      number = o ? String(o[field] ?? '').trim() : '';
    } catch (e) {
      // an account catalog left out of the publication: the line goes without our account's number
      if (!(e instanceof OneCError && (e.kind === 'not_published' || e.kind === 'access'))) throw e;
    }
    this.accounts.set(ref, { at: Date.now(), value: number });
    return number;
  }
}

/** The day of a 1C local datetime (or date) moved by whole days, `yyyy-mm-dd`. */
function shiftDays(local: string, days: number): string {
  return new Date(Date.parse(`${local.slice(0, 10)}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}
