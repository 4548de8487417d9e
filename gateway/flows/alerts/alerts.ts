import type { JobQueue } from '../../jobs/queue';
import { defineJob } from '../../jobs/types';
import type { Logger } from '../../log';
import { ALERTS } from './catalog';
import type { Alert, Notifier } from '../../ports';
import type { Executor } from '../../store/db';
import type { JobRow } from '../../store/schema';

/**
 * Alerts are jobs like everything else: raised inside the transaction that found the problem,
 * sent to each channel by its own job, at most once per key and hour.
 */
export class Alerts {
  constructor(
    private readonly queue: JobQueue,
    private readonly channels: Notifier[],
    private readonly log: Logger,
  ) {}

  async raise(trx: Executor, alert: Alert): Promise<void> {
    const hour = new Date().toISOString().slice(0, 13);
    for (let i = 0; i < this.channels.length; i++) {
      await this.queue.enqueue(trx, sendAlertJob, { channel: i, alert }, { key: `alert:${alert.key}:${i}:${hour}` });
    }
  }

  /** A job used up its attempts. */
  deadJob = (trx: Executor, job: JobRow, error: string): Promise<void> => this.raise(trx, ALERTS.deadJob(job, error));

  /** Sends an alert to one channel (the send job). */
  async send(channel: number, alert: Alert): Promise<void> {
    const notifier = this.channels[channel];
    if (!notifier) {
      this.log.warn({ alert }, 'alert channel removed from the configuration; alert written to the log only');
      return;
    }
    await notifier.send(alert);
  }
}

/** One alert to one channel; a dead alert job raises no alert of its own. */
export const sendAlertJob = defineJob(
  'alert.send',
  (d: { alerts: Alerts }, { channel, alert }: { channel: number; alert: Alert }) => d.alerts.send(channel, alert),
  { maxAttempts: 8, alertWhenDead: false },
);
