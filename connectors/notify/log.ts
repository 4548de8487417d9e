import type { Alert, Notifier } from '../../gateway/ports';

/** The part of the gateway's logger (pino) the log channel writes to. */
export type AlertLog = Record<'error' | 'warn' | 'info', (obj: object, msg: string) => void>;

/** Alerts as structured log lines (level by severity): the notifier every set-up has. */
export class LogNotifier implements Notifier {
  readonly name = 'log';
  constructor(private readonly log: AlertLog) {}
  async send(alert: Alert): Promise<void> {
    const level = alert.severity === 'critical' ? 'error' : alert.severity === 'warning' ? 'warn' : 'info';
    this.log[level]({ alert: { key: alert.key, severity: alert.severity, title: alert.title, context: alert.context } }, alert.text);
  }
}
