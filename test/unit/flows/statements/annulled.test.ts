import type { MatchDecision } from '../../../../gateway/domain/statement-matching';
import { annulledCheck, type AnnulledInvoice } from '../../../../gateway/flows/statements/annulled';

const annulled: AnnulledInvoice[] = [{ id: 'inv-1', number: 'ЭК00-000042', date: '2026-12-02', uip: '0419061212200ЭК0000042' }];
const line = (id: string, purpose: string, uip: string | null = null) => ({ id, purpose, uip, amount: 350000 });
const matched = (by: 'uip' | 'number' | 'inn', number: string): MatchDecision => ({
  outcome: 'matched',
  by,
  allocations: [{ invoiceId: 'inv-2', number, amount: 350000, remaining: 0 }],
  advance: 0,
  flags: [],
});

const check = annulledCheck(annulled);

describe('a bank line naming an annulled invoice', () => {
  test('named by its printed number (1C’s prefix and zeros dropped) or its УИП: review, «счёт № … аннулирован»', () => {
    const none: MatchDecision = { outcome: 'review', reason: 'no invoice', candidates: [] };
    for (const l of [line('a', 'Оплата по счету № 42 от 02.12.2026'), line('b', 'Оплата', '0419061212200ЭК0000042')]) {
      const r = check(l, none);
      expect(r.invoice).toBe(annulled[0]);
      expect(r.decision).toMatchObject({
        outcome: 'review',
        reason: expect.stringContaining('счёт № ЭК00-000042 от 02.12.2026 аннулирован'),
      });
    }
  });

  test('a guess by ИНН and amount does not pay another invoice instead; a match by a number it names too stands', () => {
    const guess = check(line('guess', 'Оплата по счету № 42 от 02.12.2026'), matched('inn', 'СЧ-7'));
    expect(guess.invoice).toBe(annulled[0]);
    expect(guess.decision.outcome).toBe('review');
    const named = matched('number', 'СЧ-7');
    expect(check(line('named', 'Оплата по счетам № 42 и № СЧ-7'), named)).toEqual({ decision: named });
  });

  test('a line naming none of them is left alone', () => {
    const none: MatchDecision = { outcome: 'review', reason: 'no invoice', candidates: [] };
    expect(check(line('x', 'Оплата по счету № 43'), none)).toEqual({ decision: none });
  });
});
