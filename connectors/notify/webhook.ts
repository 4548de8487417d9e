import { createHmac } from 'node:crypto';
import { ExternalError, type Alert, type Notifier } from '../../gateway/ports';

/**
 * Alerts POSTed as JSON to a URL (a helpdesk, a chat bridge, a monitoring system). With a secret,
 * `X-Signature: sha256=<hex HMAC of the body>` lets the receiver check where it came from.
 */
export class WebhookNotifier implements Notifier {
  readonly name = 'webhook';
  constructor(private readonly cfg: { url: string; secret?: string; timeoutMs?: number }) {}

  async send(alert: Alert): Promise<void> {
    const body = JSON.stringify({ ...alert, sentAt: new Date().toISOString(), source: 'onec-gateway' });
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'idempotency-key': alert.key };
    if (this.cfg.secret) headers['x-signature'] = `sha256=${createHmac('sha256', this.cfg.secret).update(body).digest('hex')}`;
    let res: Response;
    try {
      res = await fetch(this.cfg.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.cfg.timeoutMs ?? 10_000) });
    } catch (e) {
      throw new ExternalError('alert-webhook', `POST ${new URL(this.cfg.url).host}: ${(e as Error).message}`, {
        retryable: true,
        cause: e,
      });
    }
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok)
      throw new ExternalError('alert-webhook', `POST ${new URL(this.cfg.url).host}: HTTP ${res.status}`, {
        retryable: res.status >= 500 || res.status === 429,
      });
  }
}
