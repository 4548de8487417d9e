import type { Obj } from './store';
import type { OneCEmulator } from './server';

/**
 * What a manager does in 1C, done the way a 1C client does it: through the base's standard OData
 * interface (POST the object, then Post the document), so every field is checked by the emulated
 * configuration as the real one would: a buyer (Контрагент with ИНН/КПП; in УТ with its Партнер), the
 * buyer's contract with its terms, and an invoice for an order (УТ СчетНаОплатуКлиенту with its
 * ЭтапыГрафикаОплаты; УНФ СчетНаОплату with its own Запасы and ПлатежныйКалендарь).
 */

/** A unit of measure ("шт"): УНФ's КлассификаторЕдиницИзмерения is not published; only its ref is known. */
const PIECE = '6d2f0a54-1c1e-4c4b-9a0e-3b7c5d9e1f20';

export interface Buyer {
  counterparty: string;
  /** УТ: the Партнер of the Контрагент; УНФ: the Контрагент again. */
  partner: string;
}

export interface ContractTerms {
  /** Deferral in days (УТ УстановленСрокОплаты + СрокОплаты; УНФ СрокОплатыПокупателя). */
  deferredDays?: number;
  /** rubles; УТ only (ОграничиватьСуммуЗадолженности + ДопустимаяСуммаЗадолженности). */
  creditLimit?: number;
  /** УТ only: ЗапрещаетсяПросроченнаяЗадолженность. */
  blockOverdue?: boolean;
  /** УТ Статус (default Действует); УНФ: Недействителен when not Действует. */
  status?: string;
}

export interface ManagerInvoice {
  /** The order it is for (ДокументОснование). */
  orderRef: string;
  buyer: Buyer;
  contract?: string;
  /** rubles */
  amount: number;
  /** YYYY-MM-DD, the payment schedule's date */
  dueDate?: string;
  uip?: string;
  /** УНФ: its goods (rubles). */
  rows?: { quantity: number; price: number; amount: number }[];
  post?: boolean;
}

export class OneCManager {
  constructor(private readonly onec: OneCEmulator) {}

  private get unf(): boolean {
    return this.onec.configuration === 'unf';
  }

  private async call(method: string, path: string, body?: Obj): Promise<Obj> {
    const user = this.onec.users[0];
    const res = await fetch(`${this.onec.odataUrl}${path}`, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`${user.name}:${user.password}`, 'utf8').toString('base64')}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`1C answered ${res.status} to ${method} ${decodeURIComponent(path)}: ${text}`);
    return text ? (JSON.parse(text) as Obj) : {};
  }

  /** POST an object (and Post a document); the object as 1C returned it. */
  async create(set: string, body: Obj, post = false): Promise<Obj> {
    const o = await this.call('POST', `${encodeURIComponent(set)}?$format=json`, body);
    if (post) await this.call('POST', `${encodeURIComponent(set)}(guid'${o.Ref_Key}')/Post?PostingModeOperational=false&$format=json`);
    return o;
  }

  async patch(set: string, ref: string, body: Obj): Promise<Obj> {
    return this.call('PATCH', `${encodeURIComponent(set)}(guid'${ref}')?$format=json`, body);
  }

  async buyer(b: { name: string; inn: string; kpp?: string }): Promise<Buyer> {
    if (this.unf) {
      const cp = await this.create('Catalog_Контрагенты', {
        Description: b.name,
        НаименованиеПолное: b.name,
        ИНН: b.inn,
        КПП: b.kpp ?? '',
      });
      return { counterparty: String(cp.Ref_Key), partner: String(cp.Ref_Key) };
    }
    const partner = await this.create('Catalog_Партнеры', { Description: b.name });
    const cp = await this.create('Catalog_Контрагенты', {
      Description: b.name,
      НаименованиеПолное: b.name,
      ИНН: b.inn,
      КПП: b.kpp ?? '',
      Партнер_Key: partner.Ref_Key,
    });
    return { counterparty: String(cp.Ref_Key), partner: String(partner.Ref_Key) };
  }

  async contract(buyer: Buyer, t: ContractTerms, name = 'Договор поставки № 15'): Promise<string> {
    const refs = this.onec.refs;
    const date = '2026-01-01T00:00:00';
    if (this.unf) {
      const c = await this.create('Catalog_ДоговорыКонтрагентов', {
        Description: name,
        Owner: buyer.counterparty,
        Owner_Type: 'StandardODATA.Catalog_Контрагенты',
        Организация_Key: refs.organization,
        ВалютаРасчетов_Key: refs.currency,
        ДатаДоговора: date,
        СрокОплатыПокупателя: t.deferredDays ?? 0,
        Недействителен: (t.status ?? 'Действует') !== 'Действует',
      });
      return String(c.Ref_Key);
    }
    const c = await this.create('Catalog_ДоговорыКонтрагентов', {
      Description: name,
      Организация_Key: refs.organization,
      Партнер_Key: buyer.partner,
      Контрагент_Key: buyer.counterparty,
      ВалютаВзаиморасчетов_Key: refs.currency,
      Дата: date,
      Статус: t.status ?? 'Действует',
      ПорядокРасчетов: 'ПоЗаказам',
      УстановленСрокОплаты: t.deferredDays !== undefined,
      СрокОплаты: t.deferredDays ?? 0,
      ОграничиватьСуммуЗадолженности: t.creditLimit !== undefined,
      ДопустимаяСуммаЗадолженности: t.creditLimit ?? 0,
      ЗапрещаетсяПросроченнаяЗадолженность: t.blockOverdue ?? false,
    });
    return String(c.Ref_Key);
  }

  /** The manager's invoice for an order, posted (unless `post: false`). */
  async invoice(i: ManagerInvoice): Promise<Obj> {
    const refs = this.onec.refs;
    const due = `${i.dueDate ?? new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10)}T00:00:00`;
    if (this.unf) {
      const rows = i.rows ?? [{ quantity: 1, price: i.amount, amount: i.amount }];
      const cash = await this.create('Catalog_Кассы', { Description: 'Основная касса' });
      return this.create(
        'Document_СчетНаОплату',
        {
          Организация_Key: refs.organization,
          Контрагент_Key: i.buyer.counterparty,
          Договор_Key: i.contract ?? refs.contract,
          БанковскийСчет_Key: refs.bankAccount,
          Касса_Key: cash.Ref_Key,
          ВалютаДокумента_Key: refs.currency,
          НалогообложениеНДС: 'ОблагаетсяНДС',
          СуммаВключаетНДС: true,
          ДокументОснование: i.orderRef,
          ДокументОснование_Type: 'StandardODATA.Document_ЗаказПокупателя',
          СуммаДокумента: i.amount,
          ИдентификаторПлатежа: i.uip ?? '',
          Запасы: rows.map((r, n) => ({
            LineNumber: n + 1,
            Номенклатура_Key: refs.items[n % refs.items.length],
            Количество: r.quantity,
            ЕдиницаИзмерения: PIECE,
            ЕдиницаИзмерения_Type: 'StandardODATA.Catalog_КлассификаторЕдиницИзмерения',
            Цена: r.price,
            Сумма: r.amount,
            СтавкаНДС_Key: refs.vatRate,
            СуммаНДС: Math.round(((r.amount * 20) / 120) * 100) / 100,
            Всего: r.amount,
          })),
          ПлатежныйКалендарь: [{ LineNumber: 1, ДатаОплаты: due, ПроцентОплаты: 100, СуммаОплаты: i.amount }],
        },
        i.post ?? true,
      );
    }
    return this.create(
      'Document_СчетНаОплатуКлиенту',
      {
        Организация_Key: refs.organization,
        Валюта_Key: refs.currency,
        Партнер_Key: i.buyer.partner,
        Контрагент_Key: i.buyer.counterparty,
        ...(i.contract ? { Договор_Key: i.contract } : {}),
        ДокументОснование: i.orderRef,
        ДокументОснование_Type: 'StandardODATA.Document_ЗаказКлиента',
        ФормаОплаты: 'Безналичная',
        БанковскийСчет_Key: refs.bankAccount,
        СуммаДокумента: i.amount,
        ИдентификаторПлатежа: i.uip ?? '',
        ЭтапыГрафикаОплаты: [{ LineNumber: 1, ДатаПлатежа: due, ПроцентПлатежа: 100, СуммаПлатежа: i.amount }],
      },
      i.post ?? true,
    );
  }

  /** The manager annuls the invoice (УТ: Аннулирован; УНФ, which has no such attribute: marks it for deletion). */
  async annul(invoiceRef: string): Promise<void> {
    if (this.unf) await this.patch('Document_СчетНаОплату', invoiceRef, { DeletionMark: true });
    else await this.patch('Document_СчетНаОплатуКлиенту', invoiceRef, { Аннулирован: true });
  }
}
