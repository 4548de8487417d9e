import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';

export interface SiteDelivery {
  /** The event's id: the Idempotency-Key, the same on every retry of one event. */
  key: string;
  event: string;
  paymentId: string;
  status: string;
}

/**
 * The shop's site: takes the gateway's webhooks, checks their signature, records them, and now and
 * then answers 503 (a deploy) so that the gateway has to send again.
 */
export class SiteReceiver {
  readonly deliveries: SiteDelivery[] = [];
  badSignatures = 0;
  refused = 0;
  failRate = 0.05;
  url = '';
  private server: Server | null = null;

  constructor(private readonly secret: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const want = Buffer.from(`sha256=${createHmac('sha256', this.secret).update(raw).digest('hex')}`);
        const got = Buffer.from(String(req.headers['x-signature'] ?? ''));
        if (got.length !== want.length || !timingSafeEqual(got, want)) {
          this.badSignatures++;
          res.statusCode = 401;
          res.end();
          return;
        }
        if (Math.random() < this.failRate) {
          this.refused++;
          res.statusCode = 503;
          res.end();
          return;
        }
        const body = JSON.parse(raw.toString('utf8')) as { event: string; payment: { id: string; status: string } };
        this.deliveries.push({
          key: String(req.headers['idempotency-key'] ?? ''),
          event: body.event,
          paymentId: body.payment?.id,
          status: body.payment?.status,
        });
        res.statusCode = 200;
        res.end('ok');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/webhooks`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => {
      this.server?.close(() => r());
      this.server?.closeAllConnections();
    });
  }
}
