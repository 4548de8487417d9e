/**
 * The 1CClientBankExchange text format (1C's «Стандарт обмена с системами „Клиент банка“»,
 * versions 1.01–1.03): one `Ключ=Значение` per line, bare words for the section markers.
 * Tags are matched without regard to case, as 1C's own reader does.
 */

export const FIRST_LINE = '1CClientBankExchange';

/** Bare-word lines. */
export const FLAGS = {
  accountSection: 'СЕКЦИЯРАСЧСЧЕТ',
  accountSectionEnd: 'КОНЕЦРАСЧСЧЕТ',
  documentSection: 'СЕКЦИЯДОКУМЕНТ',
  documentEnd: 'КОНЕЦДОКУМЕНТА',
  fileEnd: 'КОНЕЦФАЙЛА',
} as const;

export const VERSIONS = ['1.01', '1.02', '1.03'] as const;

/** Header tags. */
const HEADER_TAGS = [
  'ВерсияФормата',
  'Кодировка',
  'Отправитель',
  'Получатель',
  'ДатаСоздания',
  'ВремяСоздания',
  'ДатаНачала',
  'ДатаКонца',
  'РасчСчет',
  'Документ',
];

/** СекцияРасчСчет tags. */
const ACCOUNT_TAGS = [
  'ДатаНачала',
  'ДатаКонца',
  'РасчСчет',
  'НачальныйОстаток',
  'ВсегоПоступило',
  'ВсегоСписано',
  'КонечныйОстаток',
  'РазделЛицевогоСчета',
  'НомерЛицевогоСчета',
];

const party = (p: 'Плательщик' | 'Получатель') => [
  `${p}Счет`,
  p,
  `${p}ИНН`,
  `${p}1`,
  `${p}2`,
  `${p}3`,
  `${p}4`,
  `${p}РасчСчет`,
  `${p}Банк1`,
  `${p}Банк2`,
  `${p}Банк3`,
  `${p}Банк4`,
  `${p}Банк5`,
  `${p}БИК`,
  `${p}Корсчет`,
  `${p}КПП`,
  `${p}СВИФТ`,
  `${p}Страна`,
  `${p}НаименованиеМеждународное`,
];

/** СекцияДокумент tags (1C УТ's `ТегиСтрокиДокумента`). */
const DOCUMENT_TAGS = [
  'Номер',
  'Дата',
  'Сумма',
  'ВидПлатежа',
  'ВидОплаты',
  'Операция',
  'КвитанцияДата',
  'КвитанцияВремя',
  'КвитанцияСодержание',
  'ДатаСписано',
  'ДатаПоступило',
  ...party('Плательщик'),
  ...party('Получатель'),
  'СтатусСоставителя',
  'ПоказательКБК',
  'ОКАТО',
  'ОКТМО',
  'ПоказательОснования',
  'ПоказательПериода',
  'ПоказательНомера',
  'ПоказательДаты',
  'ПоказательТипа',
  'Код',
  'КодНазПлатежа',
  'НазначениеПлатежа',
  'НазначениеПлатежа1',
  'НазначениеПлатежа2',
  'НазначениеПлатежа3',
  'НазначениеПлатежа4',
  'НазначениеПлатежа5',
  'НазначениеПлатежа6',
  'СрокПлатежа',
  'Очередность',
  'УсловиеОплаты1',
  'УсловиеОплаты2',
  'УсловиеОплаты3',
  'СрокАкцепта',
  'ВидАккредитива',
  'ПлатежПоПредст',
  'ДополнУсловия',
  'НомерСчетаПоставщика',
  'ДатаОтсылкиДок',
];

/** Every tag in upper case (with Ё as Е), to its spelling in the standard. */
export const KNOWN_TAGS: ReadonlyMap<string, string> = new Map(
  [...HEADER_TAGS, ...ACCOUNT_TAGS, ...DOCUMENT_TAGS].map((t) => [upper(t), t]),
);

export function upper(s: string): string {
  return s.toUpperCase().replace(/Ё/g, 'Е');
}

/** A document section as read: its tags (standard spelling) to values, empty values left out. */
export type RawFields = Map<string, string>;
