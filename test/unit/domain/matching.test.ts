import { allocatePayment, allocateRefund, owedPerLine, settledPerLine, type LineToSettle } from '../../../gateway/domain/matching';

const lines: LineToSettle[] = [
  { sku: 'kettle', name: 'Чайник', amount: 300000 },
  { sku: 'cups', name: 'Чашки', amount: 120000 },
  { sku: 'DELIVERY', name: 'Доставка', amount: 50000 },
];
const owedAll = lines.map((l) => l.amount);

describe('which order lines a payment pays', () => {
  test('the whole order: every line, nothing left over', () => {
    const a = allocatePayment(lines, owedAll, 470000);
    expect(a.lines.map((s) => [s.line, s.amount])).toEqual([
      [0, 300000],
      [1, 120000],
      [2, 50000],
    ]);
    expect(a.excess).toBe(0);
  });

  test('exactly some whole lines (the delivery paid at the door): those lines', () => {
    const a = allocatePayment(lines, owedAll, 50000);
    expect(a).toMatchObject({ rule: 'whole-lines', excess: 0 });
    expect(a.lines).toEqual([{ line: 2, sku: 'DELIVERY', name: 'Доставка', amount: 50000 }]);
    expect(allocatePayment(lines, owedAll, 170000).lines.map((s) => s.line)).toEqual([1, 2]);
  });

  test('a partial payment that matches no set of lines: lines in order, the last one partly', () => {
    const a = allocatePayment(lines, owedAll, 330000);
    expect(a).toMatchObject({ rule: 'in-order', excess: 0 });
    expect(a.lines.map((s) => [s.line, s.amount])).toEqual([
      [0, 300000],
      [1, 30000],
    ]);
    // 350 000 is the kettle and the delivery, whole: those two lines
    expect(allocatePayment(lines, owedAll, 350000).lines.map((s) => s.line)).toEqual([0, 2]);
  });

  test('several payments for one order: the second pays what the first left', () => {
    const first = allocatePayment(lines, owedAll, 330000);
    const settled = settledPerLine(3, [{ sign: 1, lines: first.lines }]);
    expect(owedPerLine(lines, settled)).toEqual([0, 90000, 50000]);
    const second = allocatePayment(lines, owedPerLine(lines, settled), 140000);
    expect(second.lines.map((s) => [s.line, s.amount])).toEqual([
      [1, 90000],
      [2, 50000],
    ]);
    expect(second.excess).toBe(0);
  });

  test('more than the order owes: every line, and the overpayment as excess', () => {
    const a = allocatePayment(lines, owedAll, 500000);
    expect(a.lines.reduce((s, l) => s + l.amount, 0)).toBe(470000);
    expect(a.excess).toBe(30000);
  });

  test('an order already paid: nothing to allocate, all of it is excess', () => {
    expect(allocatePayment(lines, [0, 0, 0], 1000)).toEqual({ lines: [], excess: 1000, rule: 'none' });
  });

  test('a refund takes back the last lines first and never more than was paid', () => {
    const paid = allocatePayment(lines, owedAll, 470000).lines;
    const r1 = allocateRefund(paid, [], 60000);
    expect(r1.lines.map((s) => [s.line, s.amount])).toEqual([
      [1, 10000],
      [2, 50000],
    ]);
    const returned = [0, 10000, 50000];
    const r2 = allocateRefund(paid, returned, 500000);
    expect(r2.lines.map((s) => [s.line, s.amount])).toEqual([
      [0, 300000],
      [1, 110000],
    ]);
    expect(r2.excess).toBe(90000);
  });
});
