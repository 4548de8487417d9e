import type { Feature } from '../deps';
import { sendAlertJob } from './alerts';
import { digestJob, digestSchedule } from './digest';

/** Alerts to support: each raised alert is recorded and sent to the channels its route names by a job; the rest wait for the daily digest. */
export const alertsFeature: Feature = {
  name: 'alerts',
  jobs: [sendAlertJob, digestJob],
  schedules: (d) => [digestSchedule(d)],
};
