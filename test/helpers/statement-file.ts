import iconv from 'iconv-lite';

export interface StatementFileInput {
  /** The payment order: its number, date (dd.mm.yyyy), amount in rubles ("3500.00"), purpose, the payer's ИНН, and «Код» (УИП). */
  number: string;
  date: string;
  amount: string;
  purpose: string;
  payerInn: string;
  /** The payer (default ООО «Вектор», КПП 770101001). */
  payerName?: string;
  payerKpp?: string;
  code?: string;
  /** The organization's account the money comes to, at its bank. */
  account: string;
  bic: string;
  correspondentAccount: string;
}

/** A statement as a bank exports it for 1C (1CClientBankExchange 1.03, windows-1251): one incoming payment order. */
export function statementFile(p: StatementFileInput): Buffer {
  const payer = p.payerName ?? 'ООО «Вектор»';
  const kpp = p.payerKpp ?? '770101001';
  const lines = [
    '1CClientBankExchange',
    'ВерсияФормата=1.03',
    'Кодировка=Windows',
    'Отправитель=СберБизнес',
    'Получатель=1С:Предприятие',
    `ДатаНачала=${p.date}`,
    `ДатаКонца=${p.date}`,
    `РасчСчет=${p.account}`,
    'СекцияРасчСчет',
    `ДатаНачала=${p.date}`,
    `ДатаКонца=${p.date}`,
    `РасчСчет=${p.account}`,
    'НачальныйОстаток=0.00',
    `ВсегоПоступило=${p.amount}`,
    'ВсегоСписано=0.00',
    `КонечныйОстаток=${p.amount}`,
    'КонецРасчСчет',
    'СекцияДокумент=Платежное поручение',
    `Номер=${p.number}`,
    `Дата=${p.date}`,
    `Сумма=${p.amount}`,
    'ПлательщикСчет=40702810100000000777',
    `ДатаСписано=${p.date}`,
    `Плательщик=ИНН ${p.payerInn} ${payer}`,
    `ПлательщикИНН=${p.payerInn}`,
    `ПлательщикКПП=${kpp}`,
    `Плательщик1=${payer}`,
    'ПлательщикРасчСчет=40702810100000000777',
    'ПлательщикБанк1=АО «Альфа-Банк»',
    'ПлательщикБИК=044525593',
    'ПлательщикКорсчет=30101810200000000593',
    `ПолучательСчет=${p.account}`,
    `ДатаПоступило=${p.date}`,
    'Получатель=ИНН 7707083893 ООО «Ромашка»',
    'ПолучательИНН=7707083893',
    'ПолучательКПП=773601001',
    'Получатель1=ООО «Ромашка»',
    `ПолучательРасчСчет=${p.account}`,
    'ПолучательБанк1=ПАО Сбербанк',
    `ПолучательБИК=${p.bic}`,
    `ПолучательКорсчет=${p.correspondentAccount}`,
    'ВидОплаты=01',
    'Очередность=5',
    ...(p.code ? [`Код=${p.code}`] : []),
    `НазначениеПлатежа=${p.purpose}`,
    'КонецДокумента',
    'КонецФайла',
  ];
  return iconv.encode(lines.join('\r\n') + '\r\n', 'win1251');
}
