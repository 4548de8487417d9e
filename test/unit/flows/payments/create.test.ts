import { attemptOrderNumber } from '../../../../gateway/flows/payments/create';

/** The number of one attempt at the bank: Sber and T-Bank take at most 32 latin letters, digits, "-" and "_". */

test.each(['1001', 'A-12345678901234567890', 'SHOP-2026-12-04-0000000123456', 'ЗАКАЗ №ЗК-0000001', 'x'.repeat(200)])(
  'order %s → at most 32 characters of the allowed ones, the order number first, a random tail',
  (number) => {
    const a = attemptOrderNumber(number);
    expect(a.length).toBeLessThanOrEqual(32);
    expect(a).toMatch(/^[A-Za-z0-9_-]+-[0-9a-f]{10}$/);
    expect(attemptOrderNumber(number)).not.toBe(a);
  },
);

test('the order number leads, cut to 21 characters', () => {
  expect(attemptOrderNumber('SHOP-2026-12-04-0000000123456')).toMatch(/^SHOP-2026-12-04-00000-[0-9a-f]{10}$/);
  expect(attemptOrderNumber('№ 42 / 7')).toMatch(/^427-[0-9a-f]{10}$/);
  expect(attemptOrderNumber('Заказ')).toMatch(/^order-[0-9a-f]{10}$/);
});
