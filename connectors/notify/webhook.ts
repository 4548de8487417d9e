import { createHmac } from 'node:crypto';
import type { Alert, Notifier } from '../../gateway/ports';
import { call, HttpTransport } from '../shared/http';
import type { WebhookChannelConfig } from './config';

/**
 * Alerts POSTed as JSON to a URL (a helpdesk, a chat bridge, a monitoring system). With a secret,
 * `X-Signature: sha256=<hex HMAC of the body>` lets the receiver check where it came from.
 */
export class WebhookNotifier implements Notifier {
  readonly name = 'webhook';
  private readonly http: HttpTransport;
  private readonly what: string;

  constructor(private readonly cfg: WebhookChannelConfig) {
    this.http = new HttpTransport(cfg.url, { timeoutMs: cfg.timeoutMs, connections: 4 });
    this.what = `POST ${new URL(cfg.url).host}`;
  }

  async send(alert: Alert): Promise<void> {
    const body = JSON.stringify({ ...alert, sentAt: new Date().toISOString(), source: 'onec-gateway' });
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'idempotency-key': alert.key };
    if (this.cfg.secret) headers['x-signature'] = `sha256=${createHmac('sha256', this.cfg.secret).update(body).digest('hex')}`;
    await call('alert-webhook', this.what, this.http, { method: 'POST', path: this.cfg.url, headers, body });
  }
}
