import { chaosOptions, formatReport, runChaos } from './chaos';

/**
 * The short form of `npm run chaos`: 300 payments through 2 gateways and 2 workers while processes are
 * killed with -9, Redis is lost and PostgreSQL restarts (every tenth a company's invoice, paid by transfer). Needs PostgreSQL's binaries (initdb, pg_ctl)
 * and redis-server on the machine; it starts its own of both and never skips.
 */
const PAYMENTS = Number(process.env.CHAOS_PAYMENTS ?? 300);

test(`chaos, short form: ${PAYMENTS} payments, kill -9, Redis lost, PostgreSQL restarted: nothing lost, nothing doubled`, async () => {
  const report = await runChaos({ ...chaosOptions(PAYMENTS), say: (l) => process.stderr.write(`chaos ${l}\n`) });
  process.stderr.write(formatReport(report));
  expect(report.problems).toEqual([]);
  expect(report.payments).toBe(PAYMENTS);
  expect(report.paid).toBe(PAYMENTS);
  expect(report.kills).toBeGreaterThanOrEqual(3);
  expect(report.restarts).toMatchObject({ redis: 1, postgres: 1 });
  expect(report.documents).toMatchObject({ perPaymentOne: PAYMENTS, extra: 0 });
  // a company's transfer for its invoice takes no receipt; every card and СБП payment one
  expect(report.byKind.invoice).toBe(Math.floor(PAYMENTS / 10));
  const withReceipt = PAYMENTS - report.byKind.invoice;
  expect(report.receipts).toEqual({ total: withReceipt, perPaymentOne: withReceipt, registrations: withReceipt });
  expect(report.webhooks).toMatchObject({ paymentsNotified: PAYMENTS, unstableIds: 0, badSignatures: 0 });
  expect(report.jobs).toEqual({ dead: [], unfinished: 0 });
  expect({ lost: report.lost, duplicated: report.duplicated }).toEqual({ lost: 0, duplicated: 0 });
}, 720_000);
