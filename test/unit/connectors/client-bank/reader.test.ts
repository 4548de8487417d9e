import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readClientBankExchange } from '../../../../connectors/client-bank/reader';
import { ClientBankFileSource } from '../../../../connectors/client-bank/source';
import { StatementFormatError } from '../../../../gateway/ports';

const SHARED = '/work/shared/fixtures/client-bank-exchange';
const OURS = join(__dirname, '../../../fixtures/client-bank-exchange');
const shared = (f: string) => readFileSync(join(SHARED, f));
const ours = (f: string) => readFileSync(join(OURS, f));

function refusal(buf: Buffer): StatementFormatError {
  try {
    readClientBankExchange(buf);
  } catch (e) {
    if (e instanceof StatementFormatError) return e;
    throw e;
  }
  throw new Error('the file was read without an error');
}

describe('1CClientBankExchange reader: the real files', () => {
  test('the organization’s own accounts, when the caller gives them, decide the direction', () => {
    const s = readClientBankExchange(shared('bx-shef_vypiska-1c.txt'), { ownAccounts: ['40702810000000000888'] });
    expect(s.documents.map((d) => [d.number, d.direction, d.account])).toEqual([
      ['11', 'outgoing', '40702810000000000888'],
      ['12', 'other', '40702810000000000001'],
      ['13', 'other', '40702810000000000999'],
    ]);
  });

  test('a 1.02 bank statement in windows-1251: accounts, balances, two incoming lines and one outgoing', () => {
    const s = readClientBankExchange(shared('bx-shef_vypiska-1c.txt'));
    expect(s).toMatchObject({ version: '1.02', encoding: 'windows-1251', from: '2026-06-01', to: '2026-06-10' });
    expect(s.accounts).toEqual([
      {
        account: '40702810000000000001',
        from: '2026-06-01',
        to: '2026-06-10',
        opening: 10_000_000,
        credited: 4_500_000,
        debited: 1_500_000,
        closing: 13_000_000,
      },
    ]);
    expect(s.documents.map((d) => [d.direction, d.number, d.date, d.amount, d.bankDate])).toEqual([
      ['incoming', '11', '2026-06-05', 2_000_000, '2026-06-05'],
      ['incoming', '12', '2026-06-06', 2_500_000, '2026-06-06'],
      ['outgoing', '13', '2026-06-07', 1_500_000, '2026-06-07'],
    ]);
    expect(s.documents[1]).toMatchObject({
      account: '40702810000000000001',
      kind: 'Платежное поручение',
      payer: { name: 'ООО Вектор', inn: '7700000004', kpp: null, account: '40702810000000000777' },
      receiver: { name: 'ООО Моя компания', inn: '7700000001', account: '40702810000000000001' },
      purpose: 'Оплата по счёту 305 за услуги',
      uip: null,
    });
  });

  test('the same statement in DOS cp866 (Кодировка=DOS) reads the same', () => {
    const win = readClientBankExchange(shared('bx-shef_vypiska-1c.txt'));
    const dos = readClientBankExchange(ours('dos-cp866_vypiska.txt'));
    expect(dos.encoding).toBe('cp866');
    expect(dos.declaredEncoding).toBe('DOS');
    expect(dos.documents).toEqual(win.documents);
    expect(dos.accounts).toEqual(win.accounts);
  });

  test('a 1.03 VTB statement (CRLF, no final newline): a bank order and payer «ИНН, name» fields', () => {
    const s = readClientBankExchange(shared('dronm-clbnk_kl_to_1c.txt'));
    expect(s.version).toBe('1.03');
    expect(s.encoding).toBe('windows-1251');
    expect(s.documents.map((d) => [d.kind, d.number, d.amount, d.direction])).toEqual([
      ['Банковский ордер', '69147', 693_600, 'outgoing'],
      // debited from an account that is not the statement's: neither side is ours (1C skips such rows too)
      ['Платежное поручение', '1', 1_305_600, 'other'],
      ['Платежное поручение', '2', 15_000_000, 'outgoing'],
    ]);
    expect(s.documents[0].payer).toMatchObject({ inn: '7777777777', kpp: '770401001', bankBik: '044525411' });
    expect(s.documents[2].purpose).toBe('Оплата по заказу клиента №9614, НДС не облагается');
  });

  test('UTF-8 files whose header says Windows are read as UTF-8; an 11-digit «Код» and an empty payer ИНН', () => {
    const s = readClientBankExchange(shared('condo_1CClientBankExchange.txt'));
    expect(s.encoding).toBe('utf-8');
    expect(s.declaredEncoding).toBe('Windows');
    const incoming = s.documents.filter((d) => d.direction === 'incoming');
    expect(incoming.map((d) => [d.number, d.amount, d.payer.inn, d.uip])).toEqual([
      ['6032', 105_298, null, '50133547364'],
      ['656731', 116_698, '667220109459', null],
    ]);
    // integer amounts without decimals
    expect(s.documents[0]).toMatchObject({ kind: 'Платежное требование', amount: 70_000, direction: 'outgoing' });
    // «ПолучательКПП=0» is no КПП
    expect(incoming[0].receiver.kpp).toBe('667101001');
  });

  test('a one-day 1.02 statement: 3 incoming lines (two of equal amount elsewhere), the rest not ours', () => {
    const s = readClientBankExchange(shared('kilylabs_one_day.txt'));
    expect(s.documents).toHaveLength(13);
    expect(s.documents.filter((d) => d.direction === 'incoming').map((d) => [d.number, d.amount])).toEqual([
      ['5', 600_000],
      ['6', 1_400_000],
      ['1', 2_000_000],
    ]);
    expect(s.documents.every((d) => d.direction !== 'outgoing')).toBe(true);
    // a 17-digit fake payer account does not stop the reader
    expect(s.documents[0].payer.account).toBe('12312312312312312');
  });

  test('a file of payment orders 1C sends to the bank: bare СекцияДокумент, split purpose, a UTF-8 КонецФайла', () => {
    const s = readClientBankExchange(shared('dronm-clbnk_to_bank.txt'));
    expect(s.documents.map((d) => [d.kind, d.number, d.amount])).toEqual([
      ['Платежное поручение', '1', 17_500_000],
      ['Платежное поручение', '2', 37_525],
    ]);
    expect(s.documents[1].purpose).toBe('За товары, по счету №777 на сумму 375-25 Plus NDS 111-16');
    expect(s.documents.every((d) => d.direction === 'other')).toBe(true);
  });

  test('1.01 files with blank lines, swapped header order, Latin «N» and a leading space', () => {
    const demo = readClientBankExchange(shared('dmdv_1c_format_demo.txt'));
    expect(demo.documents.map((d) => [d.number, d.date, d.amount, d.payer.inn])).toEqual([
      ['123456', '2013-01-11', 2300, '6672307097'],
      ['123457', '2013-01-12', 2300, '6672307097'],
    ]);
    const odoo = readClientBankExchange(shared('odoo-ru_kl_to_1c.txt'));
    expect(odoo.documents[0]).toMatchObject({
      amount: 10_815_912,
      purpose: 'Оплата по счету N 1024 от 01.01.23г 18026,52',
      payer: { bankName: 'Банк ГПБ (АО)', kpp: '000000002' },
      direction: 'outgoing',
    });
  });

  test('a 25-character «Код» is kept as the УИП; «Код=0» is none', () => {
    expect(readClientBankExchange(shared('xini1_sample2.txt')).documents[0].uip).toBe('2021730100412217000244871');
    const five = readClientBankExchange(shared('xini1_sample5.txt'));
    expect(five.documents).toHaveLength(6);
    expect(five.documents.map((d) => d.uip)).toEqual([null, null, null, null, null, '424330352486400000000ЛС12']);
  });
});

describe('1CClientBankExchange reader: refused files name the line', () => {
  test.each([
    ['bad_csv_export.txt', 'not_client_bank_exchange', 1, /это не файл обмена с банком/],
    ['bad_utf16.txt', 'wrong_encoding', 1, /UTF-16/],
    ['bad_koi8r.txt', 'wrong_encoding', 2, /кодировк/],
    ['bad_mixed.txt', 'wrong_encoding', 33, /не читается как тег в кодировке windows-1251/],
    ['bad_no_end.txt', 'truncated', 58, /нет строки КонецФайла/],
    ['bad_cut_in_document.txt', 'section_not_closed', 33, /файл обрывается.*нет КонецДокумента/],
    ['bad_unclosed_section.txt', 'section_not_closed', 33, /не закрыта \(нет КонецДокумента\) до новой секции в строке 45/],
    ['bad_zero_amount.txt', 'amount_not_positive', 36, /Сумма=0.00 у документа № 12/],
    ['bad_negative_amount.txt', 'amount_not_positive', 36, /Сумма=-25000.00 у документа № 12/],
  ])('%s → %s at line %d', (file, code, line, message) => {
    const e = refusal(ours(file));
    expect(e.code).toBe(code);
    expect(e.line).toBe(line);
    expect(e.message).toMatch(new RegExp(`^строка ${line}: `));
    expect(e.message).toMatch(message);
  });

  test('an amount that is not a number, a date that is not a date, an unknown version', () => {
    const base = shared('bx-shef_vypiska-1c.txt').toString('latin1');
    const variant = (from: string, to: string) => Buffer.from(base.replace(from, to), 'latin1');
    expect(refusal(variant('=25000.00', '=25 000 руб')).code).toBe('bad_amount');
    expect(refusal(variant('=06.06.2026', '=31.02.2026')).code).toBe('bad_date');
    expect(refusal(variant('=1.02', '=2.00')).message).toMatch(/^строка 2: .*=2.00: читаются версии 1.01, 1.02, 1.03/);
  });

  test('an empty file is not a statement', () => {
    expect(refusal(Buffer.alloc(0)).code).toBe('not_client_bank_exchange');
  });
});

describe('the statement file as a StatementSource', () => {
  test('gives only the incoming lines, from the cursor on, and the statement’s last day as the next cursor', async () => {
    const source = new ClientBankFileSource(shared('bx-shef_vypiska-1c.txt'));
    const all = await source.incomingSince(null);
    expect(all.lines.map((l) => l.number)).toEqual(['11', '12']);
    expect(all.cursor).toBe('2026-06-10');
    expect((await source.incomingSince('2026-06-06')).lines.map((l) => l.number)).toEqual(['12']);
  });

  test('a refused file gives nothing at all', async () => {
    await expect(new ClientBankFileSource(ours('bad_negative_amount.txt')).incomingSince(null)).rejects.toMatchObject({
      code: 'amount_not_positive',
    });
  });
});
