import type { Feature } from '../deps';
import { monitoringSchedule } from './check';

/** Monitoring rules: support hears of a stuck payment, queue or register before the customer calls. */
export const monitoringFeature: Feature = { name: 'monitoring', jobs: [], schedules: (d) => [monitoringSchedule(d)] };
