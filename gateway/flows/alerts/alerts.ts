import type { JobQueue } from '../../jobs/queue';
import { defineJob } from '../../jobs/types';
import type { Logger } from '../../log';
import { ALERTS } from './catalog';
import { type Alert, ExternalError, type Notifier } from '../../ports';
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

  /**
   * Sends an alert to one channel (the send job). The other channels have jobs of their own; when this
   * one gives up (refused for good, or the last attempt), the alert itself goes to the log with why.
   */
  async send(
    channel: number,
    alert: Alert,
    attempt: { attempt: number; maxAttempts: number } = { attempt: 1, maxAttempts: 1 },
  ): Promise<void> {
    const notifier = this.channels[channel];
    if (!notifier) {
      this.log.warn({ alert }, 'alert channel removed from the configuration; alert written to the log only');
      return;
    }
    try {
      await notifier.send(alert);
    } catch (e) {
      const final = (e instanceof ExternalError && !e.retryable) || attempt.attempt >= attempt.maxAttempts;
      if (final)
        this.log.error(
          {
            alert: { severity: alert.severity, title: alert.title, text: alert.text, context: alert.context },
            channel: notifier.name,
            err: e,
          },
          `alert not delivered to the ${notifier.name} channel: ${(e as Error).message}; the alert is written here`,
        );
      throw e;
    }
  }
}

/** One alert to one channel; a dead alert job raises no alert of its own. */
export const sendAlertJob = defineJob(
  'alert.send',
  (d: { alerts: Alerts }, { channel, alert }: { channel: number; alert: Alert }, ctx) => d.alerts.send(channel, alert, ctx),
  { maxAttempts: 8, alertWhenDead: false },
);
