import type { Feature } from '../deps';
import { deliverToOneCJob, waitingSchedule } from './delivery';
import { pullSchedule, writePayLinkJob } from './pull';

/** 1C: paid payments and refunds delivered as documents; manager-created orders pulled, with their payment links written back. */
export const onecFeature: Feature = {
  name: 'onec',
  jobs: [deliverToOneCJob, writePayLinkJob],
  schedules: (d) => [pullSchedule(d), waitingSchedule(d)],
};
