import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one gateway process (/metrics). */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Histogram<'method' | 'route' | 'status'>;
  readonly callbacks: Counter<'provider' | 'outcome'>;
  readonly jobs: Gauge<'status'>;
  readonly monitors: Gauge<'rule'>;
  readonly firing: Gauge<'rule'>;

  constructor(
    collectJobs: () => Promise<Record<string, number>>,
    /** The monitoring rules' last checks (kept in the store: any process answers the same). */
    collectMonitors: () => Promise<{ rule: string; value: number; firing: boolean }[]> = async () => [],
  ) {
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Histogram({
      name: 'gateway_http_request_duration_seconds',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.callbacks = new Counter({
      name: 'gateway_callbacks_total',
      help: 'Provider callbacks by outcome',
      labelNames: ['provider', 'outcome'],
      registers: [this.registry],
    });
    this.jobs = new Gauge({
      name: 'gateway_jobs',
      help: 'Jobs in the outbox by status',
      labelNames: ['status'],
      registers: [this.registry],
      async collect() {
        const counts = await collectJobs().catch(() => ({}) as Record<string, number>);
        for (const s of ['pending', 'queued', 'running', 'done', 'dead']) this.set({ status: s }, counts[s] ?? 0);
      },
    });
    const monitorChecks = () => collectMonitors().catch(() => []);
    this.monitors = new Gauge({
      name: 'gateway_monitor_value',
      help: 'What each monitoring rule measured at its last check (a count, minutes, hours or a percent, as the rule says)',
      labelNames: ['rule'],
      registers: [this.registry],
      async collect() {
        for (const m of await monitorChecks()) this.set({ rule: m.rule }, m.value);
      },
    });
    this.firing = new Gauge({
      name: 'gateway_monitor_firing',
      help: '1 while a monitoring rule is past its threshold',
      labelNames: ['rule'],
      registers: [this.registry],
      async collect() {
        for (const m of await monitorChecks()) this.set({ rule: m.rule }, m.firing ? 1 : 0);
      },
    });
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.requests.observe({ method, route, status: String(status) }, seconds);
  }
}
