import { UIP_PREFIX, uipOf } from '../../../gateway/domain/uip';

/** The УИП as 1C:Управление торговлей 11.5 computes it (ОбщегоНазначенияУТ), checked digit by digit. */
describe('uipOf', () => {
  test('an invoice: prefix СЧ, yyMM, the number, zeros to 19 characters and the mod-11 check digit', () => {
    // С=17→7, Ч=23→3; 7·1 + 3·2 + 2·3 + 6·4 + 1·5 + 2·6 + 1·7 + 2·8 + 3·9 = 110; 110 mod 11 = 0
    expect(uipOf(UIP_PREFIX.invoice, '2026-12-04', '123')).toBe('СЧ261212300000000000');
    expect(uipOf(UIP_PREFIX.invoice, '2026-12-04', '123')).toHaveLength(20);
  });

  test('letters of the number count by УТ’s table, «-» is dropped', () => {
    // З=8, К=10→0, Т=18→8, Д=5: 8 + 0 + 6 + 24 + 5 + 12 + 56 + 40 + 36 + 50 = 237; 237 mod 11 = 6
    expect(uipOf(UIP_PREFIX.order, '2026-12-01', 'ТД-45')).toBe('ЗК2612ТД450000000006');
  });

  test('a character that is neither a digit nor a letter becomes 0; a Latin letter counts by likeness', () => {
    // A=1: 7 + 6 + 6 + 24 + 5 + 12 + 7 + 8 + 0 + 20 = 95; 95 mod 11 = 7
    expect(uipOf(UIP_PREFIX.invoice, '2026-12-04', 'a-1/2')).toBe('СЧ2612A1020000000007');
  });

  test('a remainder of 10 is computed again with the weights from 3; the number is cut to 19 characters', () => {
    // weights 1…: 60 + 7·7 = 109 → 10; weights 3…: 21 + 12 + 10 + 36 + 7 + 16 + 63 = 165 → 0
    expect(uipOf(UIP_PREFIX.invoice, '2026-12-04', '7')).toBe('СЧ261270000000000000');
    expect(uipOf(UIP_PREFIX.invoice, '2026-12-04', '12345678901234567890')).toMatch(/^СЧ26121234567890123\d$/);
  });
});
