import type { JobQueue } from '../../jobs/queue';
import type { JobDefinition } from '../../jobs/types';
import type { Logger } from '../../log';
import type { Alert, Notifier } from '../../ports';
import type { Executor } from '../../store/db';
import type { JobRow } from '../../store/schema';

export const SEND_ALERT = 'alert.send';

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
      await this.queue.enqueue(trx, SEND_ALERT, { channel: i, alert }, { key: `alert:${alert.key}:${i}:${hour}` });
    }
  }

  /** A job used up its attempts. */
  deadJob = (trx: Executor, job: JobRow, error: string): Promise<void> =>
    this.raise(trx, {
      severity: 'critical',
      // a job revived and dead again is a new problem: the key names this death
      key: `dead-job:${job.id}:${job.updated_at}`,
      title: `Задание не выполнено: ${job.name}`,
      text:
        `Задание ${job.name} (${job.id}) остановлено после ${job.attempts} попыток. Последняя ошибка: ${error}. ` +
        `Устраните причину и повторите: POST /api/v1/admin/jobs/${job.id}/retry`,
      context: { jobId: job.id, job: job.name, attempts: job.attempts },
    });

  job(): JobDefinition<{ channel: number; alert: Alert }> {
    return {
      name: SEND_ALERT,
      alertWhenDead: false,
      maxAttempts: 8,
      handler: async ({ channel, alert }) => {
        const notifier = this.channels[channel];
        if (!notifier) {
          this.log.warn({ alert }, 'alert channel removed from the configuration; alert written to the log only');
          return;
        }
        await notifier.send(alert);
      },
    };
  }
}
