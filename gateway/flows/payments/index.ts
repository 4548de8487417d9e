import type { Feature } from '../deps';
import { janitorSchedule } from './janitor';
import { executeRefundJob } from './refunds';
import { notifySiteJob } from './site-notify';
import { cancelSupersededJob } from './supersede';
import { applyConfirmedJob, syncAttemptJob } from './sync';

/**
 * Payments: created at a provider, confirmed by callbacks and status checks (the janitor asks about
 * the ones still open), refunded, and told to the site.
 */
export const paymentsFeature: Feature = {
  name: 'payments',
  jobs: [syncAttemptJob, applyConfirmedJob, executeRefundJob, notifySiteJob, cancelSupersededJob],
  schedules: (d) => [janitorSchedule(d)],
};
