import { parseConfig } from '../../../gateway/config';

/** organizations[].payments.invoice: the account B2B invoices ask to pay into, and the series. */

const BANK = { name: 'ПАО Сбербанк', bic: '044525225', account: '40702810938000000001', correspondentAccount: '30101810400000000225' };
const raw = (invoice: unknown) => ({
  database: { url: 'sqlite::memory:' },
  organizations: [{ id: 'main', name: 'ООО «Ромашка»', payments: { invoice } }],
});

test('the bank account is all it needs; the series has no prefix, a prepaid invoice waits 5 days and no УИП is printed unless told', () => {
  expect(parseConfig(raw({ bank: BANK }), {}).organizations[0].payments.invoice).toEqual({
    bank: BANK,
    prefix: '',
    payWithinDays: 5,
    remindDaysBefore: 3,
    uip: false,
  });
});

test.each([
  ['a БИК of 8 digits', { bank: { ...BANK, bic: '04452522' } }, /payments\.invoice\.bank\.bic: 9 digits/],
  ['an account of 19 digits', { bank: { ...BANK, account: '4070281093800000000' } }, /payments\.invoice\.bank\.account: 20 digits/],
  ['no bank', {}, /payments\.invoice\.bank/],
  ['a prefix that would not fit 1C’s 11-character number', { bank: BANK, prefix: 'СЧЕТ-' }, /payments\.invoice\.prefix/],
  ['a term of 0 days', { bank: BANK, payWithinDays: 0 }, /payments\.invoice\.payWithinDays/],
])('%s is refused at start, naming the key', (_name, invoice, message) => {
  expect(() => parseConfig(raw(invoice), {})).toThrow(message);
});

describe('payments.invoice.statementApi: the account read from the T-Business statement API', () => {
  const api = { type: 'tbank', token: 't-business-token', accountNumber: BANK.account };

  test('a token and the account are all it needs; the defaults: the production base, every 5 minutes, 96 h of overlap, a week back at first', () => {
    expect(parseConfig(raw({ bank: BANK, statementApi: api }), {}).organizations[0].payments.invoice!.statementApi).toEqual({
      ...api,
      baseUrl: 'https://business.tbank.ru/openapi/',
      everySeconds: 300,
      overlapHours: 96,
      lookbackDays: 7,
      pageSize: 1000,
      timeoutMs: 15000,
    });
  });

  test.each([
    [
      'another account than the one invoices ask to pay into',
      { ...api, accountNumber: '40702810610000012345' },
      /statementApi\.accountNumber: the statement read must be of the account invoices ask to pay into \(bank\.account 40702810938000000001\)/,
    ],
    ['no token', { ...api, token: '' }, /statementApi\.token/],
    ['a bank the gateway cannot read', { ...api, type: 'sber' }, /statementApi\.type/],
    ['a page of more than 5000 operations', { ...api, pageSize: 5001 }, /statementApi\.pageSize/],
  ])('%s is refused at start, naming the key', (_name, statementApi, message) => {
    expect(() => parseConfig(raw({ bank: BANK, statementApi }), {})).toThrow(message);
  });
});
