import { formatRub, lineAmount, MAX_KOPECKS, quantityThousandths, toRubleString } from '../../../gateway/domain/money';

describe('lineAmount', () => {
  test('whole quantity multiplies exactly', () => {
    expect(lineAmount(150000, 3)).toBe(450000);
  });

  test('rounds half away from zero to a kopeck (1.005 × 1.00 ₽ = 1.005 ₽ → 1.01 ₽)', () => {
    expect(lineAmount(100, 1.005)).toBe(101);
  });

  test('rounds below half down (0.333 × 1.00 ₽ = 0.333 ₽ → 0.33 ₽)', () => {
    expect(lineAmount(100, 0.333)).toBe(33);
  });

  test('exact half on a 3-decimal quantity goes up (0.335 × 1.00 ₽ → 0.34 ₽)', () => {
    expect(lineAmount(100, 0.335)).toBe(34);
  });

  test('quantity with floating-point noise (0.1 + 0.2 kg) is accepted as 0.3', () => {
    expect(lineAmount(1000, 0.1 + 0.2)).toBe(300);
  });

  test('a large price stays exact (no float drift)', () => {
    // 999 999 999 999.99 ₽ × 1.5 = 1 499 999 999 999.985 ₽ → …999.99 ₽
    expect(lineAmount(99_999_999_999_999, 1.5)).toBe(149_999_999_999_999);
    expect(lineAmount(MAX_KOPECKS, 0.001)).toBe(MAX_KOPECKS / 1000);
  });

  test('rejects a quantity with 4 decimal places', () => {
    expect(() => lineAmount(100, 1.0005)).toThrow(RangeError);
    expect(() => lineAmount(100, 0.0001)).toThrow(/3 decimal places/);
  });

  test('rejects zero and negative quantities', () => {
    expect(() => lineAmount(100, 0)).toThrow(RangeError);
    expect(() => lineAmount(100, -1)).toThrow(RangeError);
  });
});

describe('quantityThousandths', () => {
  test('keeps 3 decimals as integer thousandths', () => {
    expect(quantityThousandths(1)).toBe(1000);
    expect(quantityThousandths(1.005)).toBe(1005);
    expect(quantityThousandths(0.333)).toBe(333);
    expect(quantityThousandths(0.001)).toBe(1);
  });

  test('null for more than 3 decimals, non-positive or non-finite', () => {
    expect(quantityThousandths(1.0005)).toBeNull();
    expect(quantityThousandths(0)).toBeNull();
    expect(quantityThousandths(-2)).toBeNull();
    expect(quantityThousandths(Number.NaN)).toBeNull();
    expect(quantityThousandths(Number.POSITIVE_INFINITY)).toBeNull();
  });
});

describe('toRubleString', () => {
  test('two decimals with a dot', () => {
    expect(toRubleString(150000)).toBe('1500.00');
    expect(toRubleString(101)).toBe('1.01');
    expect(toRubleString(5)).toBe('0.05');
    expect(toRubleString(0)).toBe('0.00');
  });

  test('negative amounts keep the sign in front', () => {
    expect(toRubleString(-5)).toBe('-0.05');
    expect(toRubleString(-150099)).toBe('-1500.99');
  });
});

describe('formatRub', () => {
  test('groups thousands with non-breaking spaces, comma decimals, ruble sign', () => {
    expect(formatRub(150000)).toBe('1\u00a0500,00\u00a0₽');
    expect(formatRub(123456789)).toBe('1\u00a0234\u00a0567,89\u00a0₽');
  });

  test('small amounts have no grouping', () => {
    expect(formatRub(99999)).toBe('999,99\u00a0₽');
    expect(formatRub(5)).toBe('0,05\u00a0₽');
  });

  test('uses no ordinary spaces (a line must not break inside an amount)', () => {
    expect(formatRub(1_000_000_00)).not.toContain(' ');
  });
});
