import { moscowDay } from '../../../../gateway/flows/reports/types';

test('the Moscow day of an instant: the day turns at 21:00 UTC, asked in order, out of order and in other ISO forms', () => {
  const asked = [
    ['2026-06-30T20:59:59.999Z', '2026-06-30'],
    ['2026-06-30T20:00:00.000Z', '2026-06-30'],
    ['2026-06-30T21:00:00.000Z', '2026-07-01'],
    ['2026-06-30T21:59:59.999Z', '2026-07-01'],
    ['2026-06-30T20:30:00.000Z', '2026-06-30'],
    ['2026-12-31T21:00:00.000Z', '2027-01-01'],
    // not as the store keeps instants: computed, never taken for the hour asked before
    ['2026-12-31T21:00:00Z', '2027-01-01'],
    ['2026-12-31T21:00:00.000+03:00', '2026-12-31'],
    ['2026-12-31T21:30:00.000Z', '2027-01-01'],
  ];
  expect(asked.map(([iso]) => moscowDay(iso))).toEqual(asked.map(([, day]) => day));
});
