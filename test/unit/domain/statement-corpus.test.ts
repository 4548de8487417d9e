import { matchStatementLines, type MatchDecision } from '../../../gateway/domain/statement-matching';
import { generateCorpus, type CorpusLine } from '../../helpers/statement-corpus';

/**
 * The matcher against a generated corpus with known answers: every line whose answer is clear is
 * matched exactly so (the invoices and the amount each gets), every doubtful one is in review,
 * and nothing is matched wrong.
 */

const corpus = generateCorpus(20261201, { invoices: 1_000, lines: 2_000 });
/** The lines in another order than generated (a store returns them in its own): only their dates may order them. */
function shuffled<T>(a: readonly T[], seed: number): T[] {
  const out = [...a];
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
const decisions = matchStatementLines(shuffled(corpus.lines, 7), corpus.invoices);

const sorted = (a: { invoiceId: string; amount: number }[]) => [...a].sort((x, y) => x.invoiceId.localeCompare(y.invoiceId));

function verdict(l: CorpusLine, d: MatchDecision): 'right' | 'wrong' | 'review-right' | 'missed' {
  if (l.expected.kind === 'review') return d.outcome === 'review' ? 'review-right' : 'wrong';
  if (d.outcome === 'review') return 'missed';
  const same =
    d.outcome === l.expected.outcome &&
    d.advance === l.expected.advance &&
    JSON.stringify(sorted(d.allocations.map((a) => ({ invoiceId: a.invoiceId, amount: a.amount })))) ===
      JSON.stringify(sorted(l.expected.allocations));
  return same ? 'right' : 'wrong';
}

test('the corpus is as large as asked and has every kind of line', () => {
  expect(corpus.invoices.length).toBeGreaterThanOrEqual(1_000);
  expect(corpus.lines.length).toBeGreaterThanOrEqual(2_000);
  const kinds = new Set(corpus.lines.map((l) => l.scenario));
  for (const k of [
    'uip',
    'number',
    'order',
    'partial',
    'partial-rest',
    'overpayment',
    'split-due-date',
    'split-named',
    'inn-amount',
    'individual',
    'date-like-number',
    'contract-number',
    'number-year',
    'typo-twin-amounts',
    'typo-other-invoice',
    'other-payer',
    'same-amount-two-buyers',
    'number-year-no-date',
    'paid-twice',
    'stranger',
  ])
    expect(kinds).toContain(k);
});

test('every clear line matched right, every doubtful one in review, zero wrong matches; precision and recall', () => {
  const tally = { right: 0, wrong: 0, 'review-right': 0, missed: 0 };
  const wrong: string[] = [];
  const missed: string[] = [];
  for (const l of corpus.lines) {
    const d = decisions.get(l.id)!;
    const v = verdict(l, d);
    tally[v]++;
    if (v === 'wrong') wrong.push(`${l.scenario}: «${l.purpose}» ${l.amount} → ${JSON.stringify(d)}`);
    if (v === 'missed') missed.push(`${l.scenario}: «${l.purpose}» ${l.amount} → ${d.outcome === 'review' ? d.reason : ''}`);
  }
  const matchesMade = corpus.lines.filter((l) => decisions.get(l.id)!.outcome !== 'review').length;
  const expectedMatches = corpus.lines.filter((l) => l.expected.kind === 'match').length;
  const precision = matchesMade ? tally.right / matchesMade : 1;
  const recall = tally.right / expectedMatches;
  console.log(
    `statement matching corpus: ${corpus.lines.length} lines, ${corpus.invoices.length} invoices; ` +
      `${expectedMatches} clear, ${corpus.lines.length - expectedMatches} for review; ` +
      `matched right ${tally.right}, wrong ${tally.wrong}, in review as they should ${tally['review-right']}, missed ${tally.missed}; ` +
      `precision ${(precision * 100).toFixed(2)} %, recall ${(recall * 100).toFixed(2)} %`,
  );
  expect(wrong.slice(0, 10)).toEqual([]);
  expect(missed.slice(0, 10)).toEqual([]);
  expect(precision).toBe(1);
  expect(recall).toBe(1);
});

test('individuals paying by transfer are flagged for a receipt, overpayments for an alert', () => {
  for (const l of corpus.lines) {
    const d = decisions.get(l.id)!;
    if (d.outcome === 'review') continue;
    expect(d.flags.includes('receipt_due')).toBe(l.payerInn === null || l.payerInn.length === 12);
    expect(d.flags.includes('overpayment')).toBe(d.advance > 0);
  }
  expect(corpus.lines.some((l) => l.scenario === 'individual' && decisions.get(l.id)!.outcome === 'matched')).toBe(true);
});

test('the same seed gives the same corpus', () => {
  const again = generateCorpus(20261201, { invoices: 1_000, lines: 2_000 });
  expect(again.lines.map((l) => [l.purpose, l.amount, l.payerInn])).toEqual(corpus.lines.map((l) => [l.purpose, l.amount, l.payerInn]));
});

test('the order the invoices come in changes no decision (a store hands them over in its own)', () => {
  for (const seed of [3, 11]) {
    const again = matchStatementLines(shuffled(corpus.lines, 7), shuffled(corpus.invoices, seed));
    const differ = corpus.lines.filter((l) => JSON.stringify(again.get(l.id)) !== JSON.stringify(decisions.get(l.id)));
    expect(differ.map((l) => [l.scenario, decisions.get(l.id), again.get(l.id)]).slice(0, 3)).toEqual([]);
  }
});
