import { JobExecutor } from '../../gateway/jobs/executor';
import { createLogger } from '../../gateway/log';
import { createGateway, type Gateway } from '../../gateway/main';
import type { ScheduleDefinition } from '../../gateway/jobs/types';
import { startHarness, type Harness } from '../helpers/harness';
import { describeWith } from '../helpers/services';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Every schedule of a gateway with every feature on (1C pull, statement poll, receipts, history
 * agent, monitoring, janitor, alert digest, invoices…) runs once across three worker processes on
 * one PostgreSQL: on the SQL job runner, and on BullMQ with one Redis. Each run is recorded with its
 * start and end, whichever process made it.
 */

interface Run {
  name: string;
  everyMs: number;
  start: number;
  end: number;
}

const WINDOW_MS = 5000;

function suite(redis: boolean): void {
  let h: Harness;
  const workers: Gateway[] = [];
  const runs: Run[] = [];
  /** Since before the first process started: every run recorded falls after it. */
  let since = 0;

  beforeAll(async () => {
    const original = JobExecutor.prototype.runSchedule;
    jest.spyOn(JobExecutor.prototype, 'runSchedule').mockImplementation(async function (
      this: JobExecutor,
      def: ScheduleDefinition,
      ...rest: [string, ({ earlyMs?: number; force?: boolean; waitMs?: number } | undefined)?]
    ) {
      const start = Date.now();
      let ran = true;
      try {
        ran = await original.call(this, def, ...rest);
        return ran;
      } finally {
        // a run that threw ran too; one that found the schedule taken or not due did not
        if (ran) runs.push({ name: def.name, everyMs: def.everyMs, start, end: Date.now() });
      }
    });
    since = Date.now();
    h = await startHarness({
      db: 'postgres',
      redis,
      onec: { configuration: 'ut11', pull: true },
      invoices: { everySeconds: 60 },
      fiscal: { atol: {}, driver: true },
      overrides: (raw) => {
        raw.alerts = { ...raw.alerts, digest: { at: '23:59', channels: ['log'] } };
      },
    });
    for (let i = 0; i < 2; i++) {
      const w = await createGateway(h.config, { logger: createLogger('warn'), roles: { http: false, worker: true } });
      workers.push(w);
      await w.start();
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(workers.map((w) => w.stop()));
    await h?.close();
    jest.restoreAllMocks();
  });

  test(`three workers for ${WINDOW_MS / 1000} s: each schedule runs once a period across them, never two runs at once`, async () => {
    await sleep(WINDOW_MS);
    const names = (await h.gateway.store.db.selectFrom('schedules').select('name').execute()).map((r) => r.name).sort();
    await Promise.all(workers.map((w) => w.stop()));
    await h.gateway.stop();
    const elapsed = Date.now() - since;
    // the features this configuration turns on each have their schedule
    expect(names).toEqual(
      expect.arrayContaining([
        'alerts.digest',
        'fiscal.devices',
        'fiscal.poll',
        'history',
        'janitor',
        'monitoring',
        'onec.pull-orders',
        'statements.poll',
      ]),
    );
    const problems: string[] = [];
    for (const name of names) {
      const mine = runs.filter((r) => r.name === name).sort((a, b) => a.start - b.start);
      // every schedule runs once at start, in one of the three processes
      if (mine.length === 0) {
        problems.push(`${name}: never ran`);
        continue;
      }
      // once a period across the three (a process counting alone would run it three times as often)
      const everyMs = mine[0].everyMs;
      const most = Math.floor(elapsed / everyMs) + 1;
      if (mine.length > most) problems.push(`${name}: ${mine.length} runs, at most ${most} (every ${everyMs} ms)`);
      // a run starts after the previous one ended
      for (let i = 1; i < mine.length; i++)
        if (mine[i].start < mine[i - 1].end)
          problems.push(`${name}: a run started ${mine[i - 1].end - mine[i].start} ms before the last ended`);
    }
    expect(problems).toEqual([]);
  }, 60_000);
}

describeWith('postgres', 'schedules on the SQL job runner, three workers on one PostgreSQL', () => suite(false));
describeWith(['postgres', 'redis'], 'schedules on BullMQ, three workers on one PostgreSQL and one Redis', () => suite(true));
