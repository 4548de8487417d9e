import type { Feature } from '../deps';
import { sendAlertJob } from './alerts';

/** Alerts to support: each raised alert is sent to each channel by a job. */
export const alertsFeature: Feature = {
  name: 'alerts',
  jobs: [sendAlertJob],
};
