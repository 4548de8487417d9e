import type { Feature } from '../deps';
import { checkBasesSchedule } from './check';
import { deliverToOneCJob, waitingSchedule } from './delivery';
import { createOneCInvoiceJob } from './invoice-create';
import { invoicePullSchedule } from './invoices';
import { pullSchedule, writePayLinkJob } from './pull';

/**
 * 1C: paid payments and refunds delivered as documents; manager-created orders pulled, with their payment
 * links written back; managers' invoices pulled; each base's mapping checked against the base.
 */
export const onecFeature: Feature = {
  name: 'onec',
  jobs: [deliverToOneCJob, writePayLinkJob, createOneCInvoiceJob],
  schedules: (d) => [pullSchedule(d), invoicePullSchedule(d), waitingSchedule(d), checkBasesSchedule(d)],
};
