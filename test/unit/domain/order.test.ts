import { checkTotals, orderStatusFor, outstanding, type OrderItem } from '../../../gateway/domain/order';

function item(price: number, quantity: number, amount: number): OrderItem {
  return { sku: 'sku', name: 'Товар', price, quantity, amount, vat: 'vat20' };
}

describe('checkTotals', () => {
  test('consistent order has no issues', () => {
    const items = [item(10000, 2, 20000), item(100, 1.005, 101)];
    expect(checkTotals(items, 20101)).toEqual([]);
  });

  test('a line whose amount is not price × quantity is reported at its path', () => {
    const items = [item(10000, 2, 20000), item(100, 1.005, 100)];
    const issues = checkTotals(items, 20100);
    expect(issues).toHaveLength(1);
    expect(issues[0].path).toEqual(['items', 1, 'amount']);
    expect(issues[0].message).toContain('101');
  });

  test('a total that is not the sum of the lines is reported at total', () => {
    const items = [item(10000, 2, 20000), item(500, 1, 500)];
    const issues = checkTotals(items, 20000);
    expect(issues).toHaveLength(1);
    expect(issues[0].path).toEqual(['total']);
    expect(issues[0].message).toContain('20500');
  });

  test('zero total is rejected even when the lines add up', () => {
    const issues = checkTotals([], 0);
    expect(issues).toEqual([{ path: ['total'], message: 'must be greater than zero' }]);
  });
});

describe('orderStatusFor', () => {
  test('nothing or partly paid → awaiting_payment', () => {
    expect(orderStatusFor(10000, 0, 0)).toBe('awaiting_payment');
    expect(orderStatusFor(10000, 9999, 0)).toBe('awaiting_payment');
  });

  test('fully paid → paid', () => {
    expect(orderStatusFor(10000, 10000, 0)).toBe('paid');
  });

  test('refunds after payment', () => {
    expect(orderStatusFor(10000, 10000, 3000)).toBe('partially_refunded');
    expect(orderStatusFor(10000, 10000, 10000)).toBe('refunded');
  });

  test('cancelled wins over everything', () => {
    expect(orderStatusFor(10000, 10000, 0, true)).toBe('cancelled');
  });
});

describe('outstanding', () => {
  test('what is left to pay, never negative', () => {
    expect(outstanding(10000, 0)).toBe(10000);
    expect(outstanding(10000, 4000)).toBe(6000);
    expect(outstanding(10000, 10000)).toBe(0);
    expect(outstanding(10000, 12000)).toBe(0);
  });
});
