import crypto = require('node:crypto');
import { readFileSync } from 'node:fs';
import { signedFields, signedFieldsOfJson, tbankToken, tokenSource, verifyTbankToken } from '../../../../connectors/tbank/token';

interface Vector {
  password: string;
  request: Record<string, unknown>;
  concatenated: string;
  token: string;
}

const vector = JSON.parse(readFileSync('/work/shared/fixtures/vectors/tbank-init-token.json', 'utf8')) as Vector;

describe('T-Bank Token: the published vector', () => {
  test('the concatenated values are exactly the published string', () => {
    expect(tokenSource(signedFields(vector.request), vector.password)).toBe(vector.concatenated);
  });

  test('the token is exactly the published one', () => {
    expect(tbankToken(vector.request, vector.password)).toBe(vector.token);
  });

  test('the request carrying that token verifies, from the object and from its JSON text', () => {
    const body = { ...vector.request, Token: vector.token };
    expect(verifyTbankToken(body, vector.password)).toBe(true);
    expect(verifyTbankToken(JSON.stringify(body), vector.password)).toBe(true);
  });
});

describe('T-Bank Token: what is signed', () => {
  const password = 'p@ss-Word_1';
  const base = { TerminalKey: 'T1', Amount: 1000, OrderId: 'A-1' };

  test('nested objects and arrays never take part, whatever they hold', () => {
    const plain = tbankToken(base, password);
    expect(tbankToken({ ...base, DATA: { Email: 'a@b.c' }, Receipt: { Items: [{ Price: 1 }] }, Shops: [1, 2] }, password)).toBe(plain);
    expect(tbankToken({ ...base, DATA: { Email: 'other@b.c' } }, password)).toBe(plain);
  });

  test('booleans are the words true and false', () => {
    expect(tokenSource(signedFields({ Success: true, Amount: 5 }), 'x')).toBe('5xtrue');
    expect(tokenSource(signedFields({ Success: false }), 'x')).toBe('xfalse');
  });

  test('keys are sorted, the Token itself and nulls left out', () => {
    expect(tokenSource(signedFields({ b: '2', a: '1', Token: 'zzz', c: null, Password: 'ignored' }), 'P')).toBe('P12');
  });

  test('numbers in a JSON text are taken as written, even past what a JavaScript number holds', () => {
    const text = '{"PaymentId": 12345678901234567890, "Amount": 100.50, "Data": {"x": [1, {"y": "}"}]}, "S": "a\\"b"}';
    expect(signedFieldsOfJson(text)).toEqual(
      new Map([
        ['PaymentId', '12345678901234567890'],
        ['Amount', '100.50'],
        ['S', 'a"b'],
      ]),
    );
  });

  test('a text that is not a JSON object gives no fields', () => {
    expect(signedFieldsOfJson('[1,2]')).toBeNull();
    expect(signedFieldsOfJson('{"a": 1')).toBeNull();
    expect(signedFieldsOfJson('{"a": 1} trailing')).toBeNull();
  });
});

describe('T-Bank Token: verification', () => {
  const password = 'secret-password';
  const body = {
    TerminalKey: 'T1',
    OrderId: 'A-1',
    Success: true,
    Status: 'CONFIRMED',
    PaymentId: 7160853973,
    Amount: 150000,
    Data: { Source: 'cards' },
  };
  const signed = { ...body, Token: tbankToken(body, password) };

  test('a tampered value fails', () => {
    expect(verifyTbankToken({ ...signed, Amount: 150001 }, password)).toBe(false);
    expect(verifyTbankToken({ ...signed, Status: 'REFUNDED' }, password)).toBe(false);
  });

  test('the wrong password fails', () => {
    expect(verifyTbankToken(signed, 'another-password')).toBe(false);
  });

  test('a change inside a nested object does not matter (it is not signed)', () => {
    expect(verifyTbankToken({ ...signed, Data: { Source: 'sbp' } }, password)).toBe(true);
  });

  test('the token is compared in constant time, and tokens of another length or alphabet fail without throwing', () => {
    const spy = jest.spyOn(crypto, 'timingSafeEqual');
    try {
      expect(verifyTbankToken({ ...signed, Token: signed.Token.replace(/.$/, (c) => (c === '0' ? '1' : '0')) }, password)).toBe(false);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(verifyTbankToken({ ...signed, Token: signed.Token.slice(0, 63) }, password)).toBe(false);
      expect(verifyTbankToken({ ...signed, Token: `${signed.Token}00` }, password)).toBe(false);
      expect(verifyTbankToken({ ...signed, Token: 'z'.repeat(64) }, password)).toBe(false);
      expect(verifyTbankToken({ ...body }, password)).toBe(false);
    } finally {
      spy.mockRestore();
    }
  });

  test('an uppercase token verifies (hex compared case-insensitively)', () => {
    expect(verifyTbankToken({ ...signed, Token: signed.Token.toUpperCase() }, password)).toBe(true);
  });
});
