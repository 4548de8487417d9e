import { parseConfig } from '../../../gateway/config';

/** organizations[].doublePayment: what happens to the later of two payments of one order that were both paid. */

const raw = (org: Record<string, unknown>) => ({
  database: { url: 'sqlite::memory:' },
  organizations: [{ id: 'main', name: 'ООО «Ромашка»', ...org }],
});

test('alert unless told otherwise; refund when set', () => {
  expect(parseConfig(raw({}), {}).organizations[0].doublePayment).toBe('alert');
  expect(parseConfig(raw({ doublePayment: 'refund' }), {}).organizations[0].doublePayment).toBe('refund');
});

test('another value is refused at start, naming the key', () => {
  expect(() => parseConfig(raw({ doublePayment: 'keep' }), {})).toThrow(/organizations\[0\]\.doublePayment/);
});
