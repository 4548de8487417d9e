import type { Logger } from '../../gateway/log';
import type { Alert, Notifier } from '../../gateway/ports';

/** Alerts as structured log lines (level by severity): the notifier every set-up has. */
export class LogNotifier implements Notifier {
  readonly name = 'log';
  constructor(private readonly log: Logger) {}
  async send(alert: Alert): Promise<void> {
    const level = alert.severity === 'critical' ? 'error' : alert.severity === 'warning' ? 'warn' : 'info';
    this.log[level]({ alert: { key: alert.key, severity: alert.severity, title: alert.title, context: alert.context } }, alert.text);
  }
}
