import type { MatchDecision } from '../../../../gateway/domain/statement-matching';
import { reviewAnnulled, type AnnulledInvoice } from '../../../../gateway/flows/statements/annulled';

const annulled: AnnulledInvoice[] = [{ id: 'inv-1', number: 'ЭК00-000042', date: '2026-12-02', uip: '0419061212200ЭК0000042' }];
const line = (id: string, purpose: string, uip: string | null = null) => ({ id, purpose, uip, amount: 350000 });
const matched = (by: 'uip' | 'number' | 'inn', number: string): MatchDecision => ({
  outcome: 'matched',
  by,
  allocations: [{ invoiceId: 'inv-2', number, amount: 350000, remaining: 0 }],
  advance: 0,
  flags: [],
});

describe('a bank line naming an annulled invoice', () => {
  test('named by its printed number (1C’s prefix and zeros dropped) or its УИП: review, «счёт № … аннулирован»', () => {
    const decisions = new Map<string, MatchDecision>([
      ['a', { outcome: 'review', reason: 'no invoice', candidates: [] }],
      ['b', { outcome: 'review', reason: 'no invoice', candidates: [] }],
    ]);
    const hits = reviewAnnulled(
      [line('a', 'Оплата по счету № 42 от 02.12.2026'), line('b', 'Оплата', '0419061212200ЭК0000042')],
      decisions,
      annulled,
    );
    expect(hits.map((h) => h.lineId)).toEqual(['a', 'b']);
    for (const id of ['a', 'b'])
      expect(decisions.get(id)).toMatchObject({
        outcome: 'review',
        reason: expect.stringContaining('счёт № ЭК00-000042 от 02.12.2026 аннулирован'),
      });
  });

  test('a guess by ИНН and amount does not pay another invoice instead; a match by a number it names too stands', () => {
    const decisions = new Map<string, MatchDecision>([
      ['guess', matched('inn', 'СЧ-7')],
      ['named', matched('number', 'СЧ-7')],
    ]);
    const hits = reviewAnnulled(
      [line('guess', 'Оплата по счету № 42 от 02.12.2026'), line('named', 'Оплата по счетам № 42 и № СЧ-7')],
      decisions,
      annulled,
    );
    expect(hits.map((h) => h.lineId)).toEqual(['guess']);
    expect(decisions.get('guess')!.outcome).toBe('review');
    expect(decisions.get('named')!.outcome).toBe('matched');
  });

  test('a line naming none of them is left alone', () => {
    const decisions = new Map<string, MatchDecision>([['x', { outcome: 'review', reason: 'no invoice', candidates: [] }]]);
    expect(reviewAnnulled([line('x', 'Оплата по счету № 43')], decisions, annulled)).toEqual([]);
    expect(decisions.get('x')).toMatchObject({ reason: 'no invoice' });
  });
});
