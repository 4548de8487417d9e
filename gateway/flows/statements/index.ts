import type { ScheduleDefinition } from '../../jobs/types';
import type { Feature, FlowDeps } from '../deps';
import { matchAndApply } from './apply';
import { onecStatementSchedule } from './from-onec';
import { statementPollSchedule } from './poll';

export { MatchingThread } from './matching-thread';

/**
 * Every minute, each organization that issues invoices matches the statement lines stored since (a
 * file uploaded through the admin API or `statement import`) against its open invoices, and the
 * invoices paid in full become paid.
 */
function matchSchedule(d: FlowDeps): ScheduleDefinition | null {
  const orgs = d.config.organizations.filter((o) => o.payments.invoice).map((o) => o.id);
  if (orgs.length === 0) return null;
  return {
    name: 'statements.match',
    everyMs: 60_000,
    handler: async () => {
      for (const org of orgs) await matchAndApply(d, org);
    },
  };
}

/**
 * Bank statements: incoming lines matched to invoices, and the invoices they pay; the organizations
 * with a statement API read it on their own schedule (`statements.poll`), those whose accountant
 * imports the statements into 1C read 1C's bank receipts (`statements.onec`).
 */
export const statementsFeature: Feature = {
  name: 'statements',
  jobs: [],
  schedules: (d) => [matchSchedule(d), statementPollSchedule(d), onecStatementSchedule(d)],
};
