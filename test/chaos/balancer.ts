import { createServer, type IncomingMessage, type Server } from 'node:http';

/**
 * The gateways' public address, as a load balancer in front of them: each request goes to a random
 * live gateway (another one when the connection is refused). What the banks and ATOL send to it
 * (callbacks) is, with probability `replayRate`, sent once more a little later to a random
 * gateway: a duplicate that arrives out of order with what came after it.
 */
export class Balancer {
  url = '';
  replayRate = 0;
  readonly stats = { requests: 0, replays: 0, refused: 0, failed: 0 };
  private server: Server | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly targets: () => string[]) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        (r) => {
          res.writeHead(r.status, r.headers);
          res.end(r.body);
        },
        (e) => {
          res.statusCode = 502;
          res.end(String((e as Error).message));
        },
      );
    });
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    await new Promise<void>((r) => {
      this.server?.close(() => r());
      this.server?.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === 'string' && !['host', 'connection', 'content-length', 'keep-alive', 'transfer-encoding'].includes(k)) headers[k] = v;
    const call = { method: req.method ?? 'GET', path: req.url ?? '/', headers, body };
    this.stats.requests++;
    const answer = await this.forward(call);
    if (call.path.startsWith('/callbacks/') && Math.random() < this.replayRate) {
      this.stats.replays++;
      const t = setTimeout(
        () => {
          this.timers.delete(t);
          void this.forward(call).catch(() => undefined);
        },
        200 + Math.random() * 3000,
      );
      this.timers.add(t);
    }
    return answer;
  }

  private async forward(call: { method: string; path: string; headers: Record<string, string>; body: Buffer }) {
    const tried = new Set<string>();
    for (;;) {
      const live = this.targets().filter((t) => !tried.has(t));
      if (live.length === 0) {
        this.stats.failed++;
        return { status: 502, headers: { 'content-type': 'text/plain' }, body: Buffer.from('no gateway answers') };
      }
      const target = live[Math.floor(Math.random() * live.length)];
      tried.add(target);
      try {
        const r = await fetch(target + call.path, {
          method: call.method,
          headers: call.headers,
          body: call.method === 'GET' || call.method === 'HEAD' ? undefined : call.body,
          redirect: 'manual',
          signal: AbortSignal.timeout(15_000),
        });
        const out: Record<string, string> = {};
        r.headers.forEach((v, k) => {
          if (!['content-length', 'connection', 'keep-alive', 'transfer-encoding', 'content-encoding'].includes(k)) out[k] = v;
        });
        return { status: r.status, headers: out, body: Buffer.from(await r.arrayBuffer()) };
      } catch {
        // refused or cut: the balancer takes it elsewhere; an answer cut mid-way is lost to the caller
        this.stats.refused++;
      }
    }
  }
}
