import type { Feature } from '../deps';
import { checkReceiptJob, devicesSchedule, pollSchedule, registerReceiptJob } from './delivery';
import { shipmentsSchedule } from './shipments';

/**
 * Fiscal receipts (54-ФЗ): made by the gateway (translator mode) or asked for by the site or 1C
 * (registrar mode), registered at a cash register, asked about until the register answers.
 */
export const fiscalFeature: Feature = {
  name: 'fiscal',
  jobs: [registerReceiptJob, checkReceiptJob],
  schedules: (d) => [pollSchedule(d), devicesSchedule(d), shipmentsSchedule(d)],
};
