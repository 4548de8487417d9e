import { creditRefusal } from '../../../gateway/domain/credit';
import type { Kopecks } from '../../../gateway/domain/money';

const k = (n: number) => n as Kopecks;
const unpaid = [
  { number: '101', due: k(300000), dueDate: '2026-12-10' },
  { number: '102', due: k(100000), dueDate: null },
];

describe('credit on deferred terms', () => {
  test('up to the limit exactly is allowed; a kopeck more is refused with what is still available', () => {
    expect(creditRefusal({ creditLimit: k(500000), blockOverdue: true }, unpaid, k(100000), '2026-12-04')).toBeNull();
    expect(creditRefusal({ creditLimit: k(500000), blockOverdue: true }, unpaid, k(100001), '2026-12-04')).toMatchObject({
      code: 'credit_limit_exceeded',
      message: 'Превышен кредитный лимит: доступно 1\u00a0000,00\u00a0₽',
    });
    expect(creditRefusal({ creditLimit: k(300000), blockOverdue: true }, unpaid, k(1), '2026-12-04')!.message).toContain('доступно 0,00');
  });

  test('overdue: the oldest is named, with how many more; a due date of today is not overdue yet; the block can be off', () => {
    const more = [...unpaid, { number: '100', due: k(5000), dueDate: '2026-12-01', invoice: { number: 'СЧ-7', date: '2026-11-20' } }];
    expect(creditRefusal({ creditLimit: null, blockOverdue: true }, more, k(1), '2026-12-01')).toBeNull();
    const r = creditRefusal({ creditLimit: null, blockOverdue: true }, more, k(1), '2026-12-11')!;
    expect(r.code).toBe('overdue_debt');
    expect(r.message).toBe(
      'Есть просроченная задолженность: счёт СЧ-7 от 20.11.2026 на 50,00\u00a0₽, срок оплаты 01.12.2026 и ещё 1. Новый заказ с отсрочкой платежа возможен после оплаты.',
    );
    expect(creditRefusal({ creditLimit: null, blockOverdue: false }, more, k(1), '2026-12-11')).toBeNull();
  });
});
