import type { Feature } from '../deps';
import { historySchedule } from './agent';

/** The payment history: the providers' registries read on a schedule, every operation stored once and matched to its order. */
export const historyFeature: Feature = {
  name: 'history',
  jobs: [],
  schedules: (d) => [historySchedule(d)],
};
