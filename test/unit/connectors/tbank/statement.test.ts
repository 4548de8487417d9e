import { moscowDay, rublesToKopecks, toStatementLine } from '../../../../connectors/tbank/statement';
import type { StatementOperation } from '../../../../connectors/tbank/types';
import { ExternalError } from '../../../../gateway/ports';

const ACCOUNT = '40702810110000012345';

/** An operation as public clients of GET api/v1/statement show one: a posted credit by payment order. */
function op(over: Partial<StatementOperation> = {}): StatementOperation {
  return {
    operationId: '32005e8d-5b2c-00f5-ab39-7ab40b53d7a8',
    operationDate: '2026-04-01T05:16:52Z',
    operationStatus: 'Transaction',
    accountNumber: ACCOUNT,
    bic: '044525974',
    typeOfOperation: 'Credit',
    category: 'income',
    trxnPostDate: '2026-04-01T05:16:56Z',
    drawDate: '2026-04-01T05:16:52Z',
    chargeDate: '2026-04-01T05:16:52Z',
    docDate: '2026-03-31T21:00:00Z',
    documentNumber: '151819',
    payVo: 'payment-order',
    vo: '01',
    priority: 5,
    operationAmount: 25000.4,
    operationCurrencyDigitalCode: '643',
    accountAmount: 25000.4,
    accountCurrencyDigitalCode: '643',
    rubleAmount: 25000.4,
    description: 'Входящий перевод',
    payPurpose: 'Оплата по счету № СЧ-12 от 30.03.2026. НДС не облагается',
    payer: {
      acct: '40702810100000000777',
      inn: '7701234560',
      kpp: '770101001',
      name: 'ООО «Вектор»',
      bicRu: '044525593',
      bankName: 'АО «Альфа-Банк»',
      corAcct: '30101810200000000593',
    },
    receiver: { acct: ACCOUNT, inn: '7707083893', kpp: '773601001', name: 'ООО «Ромашка»', bicRu: '044525974', bankName: 'АО «ТБанк»' },
    ...over,
  };
}

describe('a T-Business statement operation as a canonical line', () => {
  test('a credit: kopecks, the Moscow day of the UTC instants, the payer, the purpose', () => {
    expect(toStatementLine(op(), ACCOUNT)).toEqual({
      account: ACCOUNT,
      direction: 'incoming',
      kind: 'Платежное поручение',
      number: '151819',
      // docDate 2026-03-31T21:00:00Z is midnight of 1 April in Moscow
      date: '2026-04-01',
      amount: 2_500_040,
      bankDate: '2026-04-01',
      payer: {
        name: 'ООО «Вектор»',
        inn: '7701234560',
        kpp: '770101001',
        account: '40702810100000000777',
        bankBik: '044525593',
        bankName: 'АО «Альфа-Банк»',
      },
      receiver: {
        name: 'ООО «Ромашка»',
        inn: '7707083893',
        kpp: '773601001',
        account: ACCOUNT,
        bankBik: '044525974',
        bankName: 'АО «ТБанк»',
      },
      purpose: 'Оплата по счету № СЧ-12 от 30.03.2026. НДС не облагается',
      uip: null,
    });
  });

  test('credited late in the UTC evening: the bank day is the next Moscow day', () => {
    const line = toStatementLine(op({ chargeDate: '2026-04-01T22:30:00Z', operationDate: '2026-04-01T22:30:00Z' }), ACCOUNT)!;
    expect(line.bankDate).toBe('2026-04-02');
  });

  test('a debit and a hold not posted are not incoming lines', () => {
    expect(toStatementLine(op({ typeOfOperation: 'Debit' }), ACCOUNT)).toBeNull();
    expect(toStatementLine(op({ operationStatus: 'Authorization' }), ACCOUNT)).toBeNull();
  });

  test('an ИП payer’s kpp "0" is none; «Код» is the УИП; a bank order keeps its kind; no document number: the operation id', () => {
    const line = toStatementLine(
      op({
        payer: { name: 'ИП Иванов', inn: '500100732259', kpp: '0' },
        uin: '0310012345678901234567890',
        vo: '17',
        documentNumber: undefined,
      }),
      ACCOUNT,
    )!;
    expect(line.payer).toMatchObject({ inn: '500100732259', kpp: null, account: null });
    expect(line.uip).toBe('0310012345678901234567890');
    expect(line.kind).toBe('Банковский ордер');
    expect(line.number).toBe('32005e8d-5b2c-00f5-ab39-7ab40b53d7a8');
  });

  test('an amount that is not rubles and kopecks, or a type neither Credit nor Debit, is an error, not a missing payment', () => {
    expect(() => toStatementLine(op({ accountAmount: 10.005 }), ACCOUNT)).toThrow(ExternalError);
    expect(() => toStatementLine(op({ accountAmount: -5 }), ACCOUNT)).toThrow(/amount/);
    expect(() => toStatementLine(op({ typeOfOperation: 'Refund' as 'Credit' }), ACCOUNT)).toThrow(/neither Credit nor Debit/);
  });

  test('a currency account: the ruble amount', () => {
    expect(toStatementLine(op({ accountCurrencyDigitalCode: '840', accountAmount: 100, rubleAmount: 9150.25 }), ACCOUNT)!.amount).toBe(
      915_025,
    );
  });
});

describe('rubles to kopecks', () => {
  test.each([
    [3916, 391_600],
    [25000.4, 2_500_040],
    [0.01, 1],
    ['1234.56', 123_456],
    [1e21, null],
    [1.234, null],
    ['1,50', null],
    [NaN, null],
  ])('%p → %p', (v, k) => expect(rublesToKopecks(v)).toBe(k));
});

test('the Moscow day of an instant', () => {
  expect(moscowDay('2026-12-31T20:59:59Z')).toBe('2026-12-31');
  expect(moscowDay('2026-12-31T21:00:00Z')).toBe('2027-01-01');
  expect(moscowDay('2026-06-01T10:00:00+03:00')).toBe('2026-06-01');
});
