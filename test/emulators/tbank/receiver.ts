import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a merchant's NotificationURL received: the raw body, as the bank sent it. */
export interface Received {
  raw: string;
  body: Record<string, unknown>;
}

/**
 * A merchant endpoint for notifications. `answer` decides the reply to each one (default: 200 OK,
 * what T-Bank waits for); everything received is kept in order.
 */
export class NotificationReceiver {
  readonly received: Received[] = [];
  answer: (n: Received, index: number) => { status: number; body: string } = () => ({ status: 200, body: 'OK' });
  private server: Server | null = null;
  url = '';

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          // kept raw
        }
        const n = { raw, body };
        this.received.push(n);
        const a = this.answer(n, this.received.length - 1);
        res.writeHead(a.status, { 'content-type': 'text/plain' });
        res.end(a.body);
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/tbank/notify`;
    return this.url;
  }

  /** Notifications about one payment, in the order they came. */
  about(paymentId: string): Received[] {
    return this.received.filter((n) => String(n.body.PaymentId) === paymentId);
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s)
      await new Promise<void>((r) => {
        s.close(() => r());
        s.closeAllConnections();
      });
  }
}
