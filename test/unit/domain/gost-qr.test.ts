import { GostQrError, gostQrIssues, gostQrPayload, parseGostQr, type GostQrPayment } from '../../../gateway/domain/gost-qr';

/** The example of the reference (gost-qr.md §1), field for field. */
const REFERENCE_EXAMPLE =
  'ST00012|Name=ООО «Ромашка»|PersonalAcc=40702810900000012345|BankName=ПАО СБЕРБАНК|BIC=044525225|' +
  'CorrespAcc=30101810400000000225|Sum=1220000|Purpose=Оплата по счету № 123 от 01.12.2026, в т.ч. НДС 22% - 2200.00 руб.|' +
  'PayeeINN=7700000000|KPP=770001001';

const romashka: GostQrPayment = {
  name: 'ООО «Ромашка»',
  account: '40702810900000012345',
  bankName: 'ПАО СБЕРБАНК',
  bic: '044525225',
  correspondentAccount: '30101810400000000225',
  sum: 12_200_00,
  purpose: 'Оплата по счету № 123 от 01.12.2026, в т.ч. НДС 22% - 2200.00 руб.',
  payeeInn: '7700000000',
  kpp: '770001001',
};

function issuesOf(p: GostQrPayment): string[] {
  return gostQrIssues(p).map((i) => i.field);
}

describe('gostQrPayload', () => {
  test('the reference example comes out byte for byte (UTF-8 flag ST00012, Sum in kopecks)', () => {
    const payload = gostQrPayload(romashka);
    expect(payload).toBe(REFERENCE_EXAMPLE);
    // the reference measured it: 248 characters, 297 bytes in UTF-8
    expect(payload.length).toBe(248);
    expect(Buffer.byteLength(payload, 'utf8')).toBe(297);
  });

  test('the mandatory block alone, in its order, with CorrespAcc=0 for a bank without a correspondent account', () => {
    const mandatory = { name: romashka.name, account: romashka.account, bankName: romashka.bankName, bic: romashka.bic };
    expect(gostQrPayload(mandatory)).toBe(
      'ST00012|Name=ООО «Ромашка»|PersonalAcc=40702810900000012345|BankName=ПАО СБЕРБАНК|BIC=044525225|CorrespAcc=0',
    );
  });

  test('the additional tags in 1C order: Sum, Purpose, PayeeINN, PayerINN, KPP, then the УИП as uin', () => {
    const payload = gostQrPayload({ ...romashka, payerInn: '500100732259', paymentId: '10000000000001234567' });
    expect(payload.split('|').map((p) => p.split('=')[0])).toEqual([
      'ST00012',
      'Name',
      'PersonalAcc',
      'BankName',
      'BIC',
      'CorrespAcc',
      'Sum',
      'Purpose',
      'PayeeINN',
      'PayerINN',
      'KPP',
      'uin',
    ]);
    expect(parseGostQr(payload)).toMatchObject({ PayerINN: '500100732259', uin: '10000000000001234567', Sum: '1220000' });
  });

  test('a separator or a line break inside a value is taken out (1C removes `|`), so the fields stay whole', () => {
    const payload = gostQrPayload({ ...romashka, name: 'ООО |Ромашка|', purpose: 'Оплата по счету № 123\r\nот 01.12.2026' });
    const tags = parseGostQr(payload);
    expect(tags.Name).toBe('ООО Ромашка');
    expect(tags.Purpose).toBe('Оплата по счету № 123 от 01.12.2026');
    expect(payload.split('|')).toHaveLength(10);
  });

  test('the sum is whole kopecks, digits only: 1 021,01 ₽ → 102101', () => {
    expect(parseGostQr(gostQrPayload({ ...romashka, sum: 1_021_01 })).Sum).toBe('102101');
  });

  test('the limits: Name 160 characters, BankName 45, Purpose 160 pass at the limit', () => {
    expect(issuesOf({ ...romashka, name: 'N'.repeat(160), bankName: 'SBER', purpose: 'П'.repeat(160) })).toEqual([]);
    expect(issuesOf({ ...romashka, bankName: 'Б'.repeat(45) })).toEqual([]);
  });
});

describe('gostQrPayload refuses what a bank app would not read (a clear error, no payload)', () => {
  test.each<[string, Partial<GostQrPayment>, string]>([
    ['no recipient', { name: ' | ' }, 'Name'],
    ['a name past 160 characters', { name: 'Н'.repeat(161) }, 'Name'],
    ['an account of 19 digits', { account: '4070281090000001234' }, 'PersonalAcc'],
    ['an account that starts with 0', { account: '00702810900000012345' }, 'PersonalAcc'],
    ['no bank', { bankName: '' }, 'BankName'],
    ['a bank name past 45 characters', { bankName: 'Б'.repeat(46) }, 'BankName'],
    ['a БИК of 8 digits', { bic: '04452522' }, 'BIC'],
    ['a correspondent account of letters', { correspondentAccount: '3010181040000000022X' }, 'CorrespAcc'],
    ['a zero sum', { sum: 0 }, 'Sum'],
    ['a negative sum', { sum: -100 }, 'Sum'],
    ['a sum in rubles with a fraction', { sum: 12.5 }, 'Sum'],
    ['a purpose past 160 characters', { purpose: 'П'.repeat(161) }, 'Purpose'],
    ['an ИНН of 11 digits', { payeeInn: '77000000001' }, 'PayeeINN'],
    ['a payer ИНН of 9 digits', { payerInn: '770000000' }, 'PayerINN'],
    ['a КПП of 8 characters', { kpp: '77000100' }, 'KPP'],
    ['a УИП of 26 characters', { paymentId: '1'.repeat(26) }, 'uin'],
    ['a УИП of zeros', { paymentId: '0' }, 'uin'],
  ])('%s', (_what, change, field) => {
    const p = { ...romashka, ...change };
    expect(issuesOf(p)).toEqual([field]);
    expect(() => gostQrPayload(p)).toThrow(GostQrError);
    expect(() => gostQrPayload(p)).toThrow(/QR-код для оплаты не построен/);
  });

  test('a mandatory block past 300 bytes (long Cyrillic names count two bytes a letter) is refused', () => {
    const p = { ...romashka, name: 'Ж'.repeat(130) };
    expect(gostQrIssues(p)).toEqual([{ field: 'Name', message: expect.stringMatching(/больше 300/) }]);
  });

  test('parseGostQr refuses what is not a ГОСТ payload', () => {
    expect(() => parseGostQr('https://qr.nspk.ru/AS1000')).toThrow(GostQrError);
  });
});
