/**
 * The metadata of the emulated infobases, as data: entity sets, their fields with types, tabular
 * sections. Only what the gateway touches (a real УТ 11.5 $metadata is 15–17 MB).
 */

export type Configuration = 'ut11' | 'ut11-legacy' | 'unf';

export type FieldType =
  /** Edm.String; `length` is the max length (undefined = unlimited): longer values are cut silently. */
  | { kind: 'string'; length?: number }
  /** Edm.Double (sums, quantities, prices). */
  | { kind: 'number' }
  /** Edm.Int64: arrives as a JSON string ("1"). */
  | { kind: 'int64' }
  | { kind: 'boolean' }
  /** Edm.Guid reference (`X_Key`); `target` is the entity set it points at (for navigation in $filter). */
  | { kind: 'ref'; target?: string }
  /** Edm.DateTime without time zone. */
  | { kind: 'datetime' }
  /** An enumeration, sent as the value's name; `values` undefined = any name accepted. */
  | { kind: 'enum'; values?: string[] }
  /** A composite-type field: `X` (Edm.String, the value) + `X_Type` (Edm.String, `StandardODATA.<set>`). */
  | { kind: 'composite' };

export type Fields = Record<string, FieldType>;

export interface EntityDef {
  name: string;
  kind: 'Catalog' | 'Document';
  fields: Fields;
  sections: Record<string, Fields>;
}

export const EMPTY_REF = '00000000-0000-0000-0000-000000000000';
export const EMPTY_DATE = '0001-01-01T00:00:00';
export const UNDEFINED_TYPE = 'StandardODATA.Undefined';

const str = (length?: number): FieldType => ({ kind: 'string', length });
const num: FieldType = { kind: 'number' };
const bool: FieldType = { kind: 'boolean' };
const date: FieldType = { kind: 'datetime' };
const ref = (target?: string): FieldType => ({ kind: 'ref', target });
const enumOf = (...values: string[]): FieldType => ({ kind: 'enum', values: values.length ? values : undefined });
const composite: FieldType = { kind: 'composite' };

function catalog(name: string, fields: Fields = {}): EntityDef {
  return {
    name: `Catalog_${name}`,
    kind: 'Catalog',
    fields: { Ref_Key: ref(), DataVersion: str(), DeletionMark: bool, Description: str(150), ...fields },
    sections: {},
  };
}

function document(name: string, fields: Fields, sections: Record<string, Fields>): EntityDef {
  const rows: Record<string, Fields> = {};
  for (const [s, f] of Object.entries(sections)) rows[s] = { Ref_Key: ref(), LineNumber: { kind: 'int64' }, ...f };
  return {
    name: `Document_${name}`,
    kind: 'Document',
    fields: { Ref_Key: ref(), DataVersion: str(), DeletionMark: bool, Number: str(11), Date: date, Posted: bool, ...fields },
    sections: rows,
  };
}

// ------------------------------------------------------------------ УТ 11.5

function utCatalogs(withSettlementObjects: boolean): EntityDef[] {
  return [
    catalog('Контрагенты', { НаименованиеПолное: str(), ИНН: str(12), КПП: str(9), Партнер_Key: ref('Catalog_Партнеры') }),
    catalog('Партнеры'),
    catalog('Номенклатура', { Артикул: str(25) }),
    catalog('Организации', { ИНН: str(12) }),
    ...(withSettlementObjects ? [catalog('ОбъектыРасчетов', { Объект: composite })] : []),
    catalog('СтавкиНДС', { Ставка: num }),
    catalog('ЭквайринговыеТерминалы'),
    catalog('ДоговорыЭквайринга'),
    catalog('БанковскиеСчетаОрганизаций'),
    catalog('СтатьиДвиженияДенежныхСредств'),
    catalog('Валюты', { Code: str(3) }),
  ];
}

function utDocuments(legacy: boolean): EntityDef[] {
  const settlement: Fields = legacy ? { Заказ: composite } : { ОбъектРасчетов_Key: ref('Catalog_ОбъектыРасчетов') };
  const paymentRows: Fields = {
    Партнер_Key: ref('Catalog_Партнеры'),
    ...settlement,
    Сумма: num,
    СуммаВзаиморасчетов: num,
    СтатьяДвиженияДенежныхСредств_Key: ref('Catalog_СтатьиДвиженияДенежныхСредств'),
  };
  const paymentHeader: Fields = {
    Организация_Key: ref('Catalog_Организации'),
    ХозяйственнаяОперация: enumOf('ПоступлениеОплатыОтКлиента', 'ВозвратОплатыКлиенту'),
    СуммаДокумента: num,
    Валюта_Key: ref('Catalog_Валюты'),
    НомерВходящегоДокумента: str(30),
    Комментарий: str(),
  };
  return [
    document(
      'ЗаказКлиента',
      {
        Партнер_Key: ref('Catalog_Партнеры'),
        Контрагент_Key: ref('Catalog_Контрагенты'),
        Организация_Key: ref('Catalog_Организации'),
        Соглашение_Key: ref(),
        Склад_Key: ref(),
        СуммаДокумента: num,
        Статус: enumOf('НеСогласован', 'КОбеспечению', 'КОтгрузке', 'Закрыт'),
        ФормаОплаты: enumOf('Безналичная', 'Наличная', 'ПлатежнаяКарта'),
        ДатаОтгрузки: date,
        ХозяйственнаяОперация: enumOf(),
        ...(legacy ? {} : { ОбъектРасчетов_Key: ref('Catalog_ОбъектыРасчетов') }),
        ЭтоЗаказКакСчет: bool,
        Комментарий: str(),
      },
      {
        Товары: {
          Номенклатура_Key: ref('Catalog_Номенклатура'),
          Количество: num,
          Цена: num,
          Сумма: num,
          СтавкаНДС_Key: ref('Catalog_СтавкиНДС'),
          СуммаНДС: num,
          Отменено: bool,
        },
      },
    ),
    document(
      'ОперацияПоПлатежнойКарте',
      {
        ...paymentHeader,
        ЭквайринговыйТерминал_Key: ref('Catalog_ЭквайринговыеТерминалы'),
        ДоговорЭквайринга_Key: ref('Catalog_ДоговорыЭквайринга'),
      },
      { РасшифровкаПлатежа: paymentRows },
    ),
    document(
      'ПоступлениеБезналичныхДенежныхСредств',
      {
        ...paymentHeader,
        БанковскийСчет_Key: ref('Catalog_БанковскиеСчетаОрганизаций'),
        Контрагент_Key: ref('Catalog_Контрагенты'),
        ДатаВходящегоДокумента: date,
      },
      { РасшифровкаПлатежа: paymentRows },
    ),
  ];
}

// ------------------------------------------------------------------ УНФ

function unfEntities(): EntityDef[] {
  const paymentRows: Fields = { Договор_Key: ref('Catalog_ДоговорыКонтрагентов'), Заказ: composite, СуммаРасчетов: num, СуммаПлатежа: num };
  const paymentHeader: Fields = {
    Организация_Key: ref('Catalog_Организации'),
    ВидОперации: enumOf('ОплатаПокупателя', 'ВозвратПокупателю'),
    Контрагент_Key: ref('Catalog_Контрагенты'),
    СуммаДокумента: num,
    ИдентификаторПлатежа: str(50),
    Комментарий: str(),
  };
  return [
    catalog('Контрагенты', { ИНН: str(12), КПП: str(9) }),
    catalog('Номенклатура', { Артикул: str(25) }),
    catalog('Организации'),
    catalog('ДоговорыКонтрагентов', { Owner_Key: ref('Catalog_Контрагенты') }),
    catalog('ЭквайринговыеТерминалы'),
    catalog('БанковскиеСчета'),
    catalog('СтавкиНДС', { Ставка: num }),
    document(
      'ЗаказПокупателя',
      {
        Организация_Key: ref('Catalog_Организации'),
        Контрагент_Key: ref('Catalog_Контрагенты'),
        Договор_Key: ref('Catalog_ДоговорыКонтрагентов'),
        СуммаДокумента: num,
        СостояниеЗаказа: enumOf('Новый', 'ВРаботе', 'Выполнен'),
        Комментарий: str(),
      },
      {
        Запасы: {
          Номенклатура_Key: ref('Catalog_Номенклатура'),
          Количество: num,
          Цена: num,
          Сумма: num,
          СтавкаНДС_Key: ref('Catalog_СтавкиНДС'),
          СуммаНДС: num,
        },
      },
    ),
    document(
      'ОперацияПоПлатежнымКартам',
      { ...paymentHeader, ЭквайринговыйТерминал_Key: ref('Catalog_ЭквайринговыеТерминалы') },
      { РасшифровкаПлатежа: paymentRows },
    ),
    document(
      'ПоступлениеНаСчет',
      { ...paymentHeader, БанковскийСчет_Key: ref('Catalog_БанковскиеСчета') },
      { РасшифровкаПлатежа: paymentRows },
    ),
  ];
}

// ------------------------------------------------------------------ profiles

/** Which objects play which part in a configuration (what the HTTP/SOAP services and snapshot() use). */
export interface Profile {
  order: { set: string; rows: string; status: string; type: string };
  /** card/СБП documents and bank-transfer documents */
  card: string;
  bank: string;
  paymentRows: string;
  /** The row field holding the amount paid (checked against СуммаДокумента on posting). */
  rowAmount: string;
  operationField: string;
  operations: { payment: string; refund: string };
  /** The header field holding the gateway's payment id, and its length. */
  marker: string;
  markerLength: number;
  /** How a payment row points at the order: through Catalog_ОбъектыРасчетов (11.5) or Заказ/Заказ_Type. */
  settlement: 'object' | 'order';
  numberPrefix: string;
}

const UT_PROFILE = {
  order: { set: 'Document_ЗаказКлиента', rows: 'Товары', status: 'Статус', type: 'StandardODATA.Document_ЗаказКлиента' },
  card: 'Document_ОперацияПоПлатежнойКарте',
  bank: 'Document_ПоступлениеБезналичныхДенежныхСредств',
  paymentRows: 'РасшифровкаПлатежа',
  rowAmount: 'Сумма',
  operationField: 'ХозяйственнаяОперация',
  operations: { payment: 'ПоступлениеОплатыОтКлиента', refund: 'ВозвратОплатыКлиенту' },
  marker: 'НомерВходящегоДокумента',
  markerLength: 30,
  numberPrefix: 'ЭК00-',
};

export const CONFIGURATIONS: Record<Configuration, { entities: EntityDef[]; profile: Profile }> = {
  ut11: { entities: [...utCatalogs(true), ...utDocuments(false)], profile: { ...UT_PROFILE, settlement: 'object' } },
  'ut11-legacy': { entities: [...utCatalogs(false), ...utDocuments(true)], profile: { ...UT_PROFILE, settlement: 'order' } },
  unf: {
    entities: unfEntities(),
    profile: {
      order: { set: 'Document_ЗаказПокупателя', rows: 'Запасы', status: 'СостояниеЗаказа', type: 'StandardODATA.Document_ЗаказПокупателя' },
      card: 'Document_ОперацияПоПлатежнымКартам',
      bank: 'Document_ПоступлениеНаСчет',
      paymentRows: 'РасшифровкаПлатежа',
      rowAmount: 'СуммаПлатежа',
      operationField: 'ВидОперации',
      operations: { payment: 'ОплатаПокупателя', refund: 'ВозвратПокупателю' },
      marker: 'ИдентификаторПлатежа',
      markerLength: 50,
      settlement: 'order',
      numberPrefix: 'ЭК00-',
    },
  },
};

/** Human names of fields for fill-check messages (`Поле "Организация" не заполнено`). */
export const FIELD_TITLES: Record<string, string> = {
  Организация_Key: 'Организация',
  ЭквайринговыйТерминал_Key: 'Эквайринговый терминал',
  БанковскийСчет_Key: 'Банковский счет',
  СуммаДокумента: 'Сумма документа',
  РасшифровкаПлатежа: 'Расшифровка платежа',
  Товары: 'Товары',
  Запасы: 'Запасы',
};

/** The Edm type of a field in $metadata. */
export function edmType(t: FieldType): string {
  switch (t.kind) {
    case 'number':
      return 'Edm.Double';
    case 'int64':
      return 'Edm.Int64';
    case 'boolean':
      return 'Edm.Boolean';
    case 'ref':
      return 'Edm.Guid';
    case 'datetime':
      return 'Edm.DateTime';
    default:
      return 'Edm.String';
  }
}
