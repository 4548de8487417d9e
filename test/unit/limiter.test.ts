import { setTimeout as sleep } from 'node:timers/promises';
import { openLimits, Semaphore } from '../../gateway/limiter';
import { slotLockId } from '../../gateway/store/limits';

/** The limits a store's dialect gets; the shared ones on PostgreSQL are in test/integration/shared-limits.test.ts. */

test.each(['sqlite:/tmp/gw.db', ':memory:', 'mssql://sa:x@127.0.0.1/gw'])('%s: in-process limits, no shared rate', async (url) => {
  const limits = openLimits(url);
  const base = limits.concurrency('onec:http://1c/ut', 2);
  expect(base).toBeInstanceOf(Semaphore);
  expect(limits.rate('tbank-registry:x', 1100)).toBeUndefined();
  let active = 0;
  let most = 0;
  await Promise.all(
    Array.from({ length: 6 }, () =>
      base.run(async () => {
        most = Math.max(most, ++active);
        await sleep(10);
        active--;
      }),
    ),
  );
  expect(most).toBe(2);
  await limits.close();
});

test('a database URL nobody can read is refused by name, with no password in the message', () => {
  expect(() => openLimits('mysql://root:hunter2@db/gw')).toThrow(/expected sqlite:<file>, postgres:\/\/\.\.\. or mssql:\/\/\.\.\./);
  expect(() => openLimits('mysql://root:hunter2@db/gw')).not.toThrow(/hunter2/);
});

test('each slot of each limit has a lock id of its own, derived from its key and number alone', () => {
  const ids = ['onec:http://1c/ut', 'onec:http://1c/unf'].flatMap((k) => [0, 1, 2, 3].map((i) => slotLockId(k, i)));
  expect(new Set(ids).size).toBe(8);
  expect(slotLockId('onec:http://1c/ut', 0)).toBe(ids[0]);
  for (const id of ids) expect(BigInt(id) >= -(2n ** 63n) && BigInt(id) < 2n ** 63n).toBe(true);
});
