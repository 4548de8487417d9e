import type { OneCEmulator } from './server';

/**
 * The accountant importing a bank statement into 1C by hand (Клиент-банк, «Загрузить выписку»): a
 * posted incoming bank receipt — УТ 11.5: ПоступлениеБезналичныхДенежныхСредств, ПоступлениеОплатыОтКлиента;
 * УНФ: ПоступлениеНаСчет, ОтПокупателя — with the payment order's number and date, the payer found (or
 * created) in Catalog_Контрагенты by ИНН, the purpose and the УИП, settling the order when one is named.
 * Written through the base's own OData interface (POST, then Post), as any client of 1C would.
 */
export interface AccountantImport {
  /** The payment order's number and date (yyyy-mm-dd). */
  number: string;
  date: string;
  /** Rubles. */
  amount: number;
  payer: { inn: string; kpp?: string; name: string };
  purpose: string;
  uip?: string;
  /** The 1C order the payment settles (its Ref_Key), when the accountant picked it. */
  orderRef?: string;
  /** The document's own date (default: the payment order's date, noon). */
  documentDate?: string;
  /** Leave it unposted. */
  posted?: boolean;
  user?: { name: string; password: string };
}

export async function importStatementIn1C(em: OneCEmulator, p: AccountantImport): Promise<{ ref: string; number: string }> {
  const user = p.user ?? em.users[0];
  const auth = `Basic ${Buffer.from(`${user.name}:${user.password}`, 'utf8').toString('base64')}`;
  const call = async (method: string, path: string, body?: unknown): Promise<Record<string, any>> => {
    const res = await fetch(`${em.odataUrl}${path}`, {
      method,
      headers: { authorization: auth, accept: 'application/json', ...(body ? { 'content-type': 'application/json; charset=utf-8' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`1C ${method} ${decodeURIComponent(path)}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : {};
  };
  const set = (s: string) => encodeURIComponent(s);
  const unf = em.configuration === 'unf';
  const r = em.refs;

  const found = await call(
    'GET',
    `${set('Catalog_Контрагенты')}?$format=json&$filter=${set(`ИНН eq '${p.payer.inn}' and DeletionMark eq false`)}&$select=Ref_Key`,
  );
  const counterparty: string =
    found.value[0]?.Ref_Key ??
    (
      await call('POST', `${set('Catalog_Контрагенты')}?$format=json`, {
        Description: p.payer.name,
        НаименованиеПолное: p.payer.name,
        ИНН: p.payer.inn,
        КПП: p.payer.kpp ?? '',
        ...(unf ? {} : { Партнер_Key: r.partner }),
      })
    ).Ref_Key;

  const when = p.documentDate ?? `${p.date}T12:00:00`;
  const row = unf
    ? {
        LineNumber: 1,
        Договор_Key: r.contract,
        ПризнакАванса: !p.orderRef,
        Курс: 1,
        Кратность: 1,
        СуммаПлатежа: p.amount,
        СуммаРасчетов: p.amount,
        СтавкаНДС_Key: r.vatRate,
        ...(p.orderRef ? { Заказ: p.orderRef, Заказ_Type: 'StandardODATA.Document_ЗаказПокупателя' } : {}),
      }
    : {
        LineNumber: 1,
        Партнер_Key: r.partner,
        Сумма: p.amount,
        СуммаВзаиморасчетов: p.amount,
        СтатьяДвиженияДенежныхСредств_Key: r.cashFlowItem,
        ...(p.orderRef
          ? { ОбъектРасчетов_Key: (em.get('Document_ЗаказКлиента', p.orderRef)?.ОбъектРасчетов_Key as string | undefined) ?? undefined }
          : {}),
      };
  const body = unf
    ? {
        Date: when,
        ВидОперации: 'ОтПокупателя',
        Организация_Key: r.organization,
        Контрагент_Key: counterparty,
        БанковскийСчет_Key: r.bankAccount,
        ВалютаДенежныхСредств_Key: r.currency,
        Курс: 1,
        Кратность: 1,
        НалогообложениеНДС: 'ОблагаетсяНДС',
        Статья_Key: r.cashFlowItem,
        СуммаДокумента: p.amount,
        СуммаУчета: p.amount,
        НомерВходящегоДокумента: p.number,
        ДатаВходящегоДокумента: `${p.date}T00:00:00`,
        НазначениеПлатежа: p.purpose,
        РасшифровкаПлатежа: [row],
      }
    : {
        Date: when,
        ХозяйственнаяОперация: 'ПоступлениеОплатыОтКлиента',
        ТипПлатежногоДокумента: 'ПлатежноеПоручение',
        Организация_Key: r.organization,
        БанковскийСчет_Key: r.bankAccount,
        Контрагент_Key: counterparty,
        Валюта_Key: r.currency,
        СуммаДокумента: p.amount,
        НомерВходящегоДокумента: p.number,
        ДатаВходящегоДокумента: `${p.date}T00:00:00`,
        НазначениеПлатежа: p.purpose,
        ИдентификаторПлатежа: p.uip ?? '',
        ПроведеноБанком: true,
        ДатаПроведенияБанком: when,
        РасшифровкаПлатежа: [row],
      };
  const entity = unf ? 'Document_ПоступлениеНаСчет' : 'Document_ПоступлениеБезналичныхДенежныхСредств';
  const created = await call('POST', `${set(entity)}?$format=json`, body);
  if (p.posted !== false) await call('POST', `${set(entity)}(guid'${created.Ref_Key}')/Post?PostingModeOperational=false&$format=json`);
  return { ref: created.Ref_Key, number: created.Number };
}
