import { maskPan, withoutCardData } from '../../../gateway/domain/card-data';

/** Cardholder data a stored bank answer may not keep: names and expiry go, a card number is 6+4. */

test('Sber’s getOrderStatusExtended.do: the card’s holder and expiry go, the masked number and the rest stay', () => {
  const answer = {
    orderStatus: 2,
    amount: 150000,
    cardAuthInfo: {
      maskedPan: '220220**0000',
      expiration: '203012',
      cardholderName: 'CARD HOLDER',
      approvalCode: '123456',
      paymentSystem: 'MIR',
    },
    bindingInfo: { clientId: 'c-1' },
    attributes: [{ name: 'mdOrder', value: 'md-1' }],
  };
  expect(withoutCardData(answer)).toEqual({
    orderStatus: 2,
    amount: 150000,
    cardAuthInfo: { maskedPan: '220220**0000', approvalCode: '123456', paymentSystem: 'MIR' },
    bindingInfo: { clientId: 'c-1' },
    attributes: [{ name: 'mdOrder', value: 'md-1' }],
  });
});

test('a T-Bank notification: ExpDate goes, a full card number is cut to 6+4, an СБП payer’s masked phone stays', () => {
  expect(withoutCardData({ Status: 'CONFIRMED', CardId: 322264, Pan: '2200 7000 1234 5678', ExpDate: '1230', Amount: 150000 })).toEqual({
    Status: 'CONFIRMED',
    CardId: 322264,
    Pan: '220070******5678',
    Amount: 150000,
  });
  expect(withoutCardData({ Pan: '+7 (916) ***-**-21' })).toEqual({ Pan: '+7 (916) ***-**-21' });
});

test('at any depth, in arrays too; values that are not objects pass', () => {
  expect(withoutCardData({ a: [{ card: { cardNumber: '4111111111111111', cvv: '123', holderName: 'X' } }] })).toEqual({
    a: [{ card: { cardNumber: '411111******1111' } }],
  });
  expect(withoutCardData(null)).toBeNull();
  expect(withoutCardData('4111111111111111')).toBe('4111111111111111');
  expect(maskPan('411111XXXXXX1111')).toBe('411111******1111');
  expect(maskPan('order-12345678901234')).toBe('order-12345678901234');
});
