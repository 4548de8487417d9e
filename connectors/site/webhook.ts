import { createHmac } from 'node:crypto';
import { ExternalError, type SiteEvent, type SiteNotifier } from '../../gateway/ports';
import { HttpTransport } from '../shared/http';
import type { SiteWebhookConfig } from './config';

/**
 * POSTs each payment event to the site as JSON, signed with the organization's webhook secret
 * (`X-Signature: sha256=<hex HMAC of the body>`), with `Idempotency-Key`. Any answer but 2xx is
 * tried again later: a site being deployed answers 404 for a minute, and the event must arrive.
 */
export class SiteWebhook implements SiteNotifier {
  private readonly http: HttpTransport;
  private readonly what: string;

  constructor(private readonly cfg: SiteWebhookConfig) {
    this.http = new HttpTransport(cfg.url, { timeoutMs: cfg.timeoutMs, connections: 8 });
    this.what = `webhook ${new URL(cfg.url).host}`;
  }

  async send(event: SiteEvent, idempotencyKey: string): Promise<void> {
    const body = JSON.stringify(event);
    const signature = createHmac('sha256', this.cfg.secret).update(body).digest('hex');
    let status: number;
    try {
      ({ status } = await this.http.request({
        method: 'POST',
        path: this.cfg.url,
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'x-signature': `sha256=${signature}`,
          'idempotency-key': idempotencyKey,
        },
        body,
      }));
    } catch (e) {
      throw new ExternalError('site', `${this.what}: ${(e as Error).message}`, { retryable: true, cause: e });
    }
    if (status < 200 || status >= 300)
      throw new ExternalError('site', `${this.what}: HTTP ${status}`, { retryable: true, code: `http_${status}` });
  }
}
