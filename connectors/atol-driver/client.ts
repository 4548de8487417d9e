import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { FiscalError } from '../../gateway/ports';
import { HttpTransport } from '../shared/http';
import type { TaskResult } from './types';

export interface DriverClientConfig {
  url: string;
  user?: string;
  password?: string;
  deviceId?: string;
  timeoutMs: number;
}

const unavailable = (what: string, why: string, cause?: unknown) =>
  new FiscalError(
    'atol-driver',
    'unavailable',
    `${what}: ${why}`,
    'Веб-сервер драйвера АТОЛ (ДТО 10) не отвечает: проверьте, включён ли компьютер с кассой и запущен ли веб-сервер. Чек будет отправлен, когда касса ответит.',
    { cause },
  );

/**
 * The driver's web server: tasks are queued with `POST /api/v2/requests {uuid, request: [...]}`
 * (201; 409 when that uuid was queued before) and their results read from `GET /api/v2/requests/<uuid>`.
 */
export class DriverClient {
  private readonly transport: HttpTransport;

  constructor(private readonly cfg: DriverClientConfig) {
    this.transport = new HttpTransport(cfg.url, {
      timeoutMs: cfg.timeoutMs,
      connections: 4,
      connectTimeoutMs: Math.min(5000, cfg.timeoutMs),
    });
  }

  private headers(): Record<string, string> {
    return {
      accept: 'application/json',
      ...(this.cfg.user ? { authorization: `Basic ${Buffer.from(`${this.cfg.user}:${this.cfg.password ?? ''}`).toString('base64')}` } : {}),
      ...(this.cfg.deviceId ? { deviceid: this.cfg.deviceId } : {}),
    };
  }

  private async http(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: any }> {
    let status: number;
    let text: string;
    try {
      ({ status, text } = await this.transport.request({
        method,
        path,
        headers: { ...this.headers(), ...(body !== undefined ? { 'content-type': 'application/json; charset=utf-8' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      }));
    } catch (e) {
      throw unavailable(`${method} ${path}`, (e as Error).message, e);
    }
    if (status === 401 || status === 403) {
      throw new FiscalError(
        'atol-driver',
        'auth',
        `${method} ${path}: HTTP ${status}`,
        'Веб-сервер драйвера АТОЛ не пускает шлюз: проверьте user и password кассы в настройках шлюза.',
      );
    }
    if (status >= 500) throw unavailable(`${method} ${path}`, `HTTP ${status}`);
    let json: unknown = null;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        throw unavailable(`${method} ${path}`, `HTTP ${status}, not JSON`);
      }
    }
    return { status, json };
  }

  /** Queues tasks under `uuid`; `exists` when the driver has that uuid already (it never runs it twice). */
  async submit(uuid: string, tasks: unknown[]): Promise<'created' | 'exists'> {
    const { status, json } = await this.http('POST', '/api/v2/requests', { uuid, request: tasks });
    if (status === 201 || status === 200) return 'created';
    if (status === 409) return 'exists';
    throw new FiscalError(
      'atol-driver',
      'validation',
      `POST /api/v2/requests: HTTP ${status}: ${json?.error?.description ?? ''}`,
      `Веб-сервер драйвера АТОЛ не принял задание: ${json?.error?.description ?? `HTTP ${status}`}.`,
    );
  }

  /** The tasks' results under `uuid`; null when the driver does not know it. */
  async results(uuid: string): Promise<TaskResult[] | null> {
    const { status, json } = await this.http('GET', `/api/v2/requests/${uuid}`);
    if (status === 404) return null;
    if (status !== 200 || !Array.isArray(json?.results)) throw unavailable(`GET /api/v2/requests/${uuid}`, `HTTP ${status}`);
    return json.results as TaskResult[];
  }

  /** Polls `uuid` until its first task is final or `waitMs` passes. */
  async settle(uuid: string, waitMs: number): Promise<TaskResult | null> {
    const until = Date.now() + waitMs;
    for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
      const r = (await this.results(uuid))?.[0] ?? null;
      if (!r || (r.status !== 'wait' && r.status !== 'inProgress') || Date.now() >= until) return r;
      await sleep(delay);
    }
  }

  /** Runs one service task (shift, status) to its end and returns its result. */
  async run<R>(task: { type: string; [k: string]: unknown }, waitMs = this.cfg.timeoutMs): Promise<R> {
    const uuid = randomUUID();
    await this.submit(uuid, [task]);
    const r = await this.settle(uuid, waitMs);
    if (!r || r.status === 'wait' || r.status === 'inProgress') throw unavailable(task.type, `no result in ${waitMs} ms`);
    if (r.status !== 'ready') {
      throw new FiscalError(
        'atol-driver',
        'unavailable',
        `${task.type}: ${r.error ? `${r.error.code} ${r.error.description}` : r.status}`,
        `Касса не выполнила «${task.type}»: ${r.error?.description ?? r.status}.`,
        { code: String(r.error?.code ?? r.status) },
      );
    }
    return r.result as R;
  }
}
