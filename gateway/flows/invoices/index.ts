import type { Feature } from '../deps';
import { invoiceOverdueJob, invoicesDueSchedule, remindBuyerJob } from './due';

/** B2B invoices after they are issued: reminders to the buyer before and on the due date, overdue alerts. */
export const invoicesFeature: Feature = {
  name: 'invoices',
  jobs: [remindBuyerJob, invoiceOverdueJob],
  schedules: (d) => [invoicesDueSchedule(d)],
};
