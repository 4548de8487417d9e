import { JobQueue, type EnqueueOptions } from '../../../gateway/jobs/queue';
import { defineJob, type Job } from '../../../gateway/jobs/types';
import { openStore, type Store } from '../../../gateway/store/db';
import { getJob } from '../../../gateway/store/jobs';
import { migrateToLatest } from '../../../gateway/store/migrations';

/** Queuing by handle: the job row a kind of job gets, and the payload checked where it is queued. */

const refund = defineJob('test.refund', async (_deps: unknown, _p: { refundId: string; amount: number }) => undefined, { maxAttempts: 3 });
const register = defineJob('test.register', async (_deps: unknown, _p: { receiptId: string }) => undefined, { minAttempts: 30 });
const plain = defineJob('test.plain', async (_deps: unknown, _p: { id: string }) => undefined);

let store: Store;
let queue: JobQueue;
beforeEach(async () => {
  store = await openStore('sqlite::memory:');
  await migrateToLatest(store.db);
  queue = new JobQueue(12);
});
afterEach(() => store.close());

function enqueue<P>(job: Job<P, unknown>, payload: NoInfer<P>, opts?: EnqueueOptions): Promise<string | null> {
  return store.db.transaction().execute((trx) => queue.enqueue(trx, job, payload, opts));
}

test('a job is written under its kind’s name with its payload and its own number of attempts', async () => {
  const id = await enqueue(refund, { refundId: 'rf-1', amount: 50_000 });
  expect(await getJob(store.db, id!)).toMatchObject({
    name: 'test.refund',
    payload: JSON.stringify({ refundId: 'rf-1', amount: 50_000 }),
    max_attempts: 3,
    status: 'pending',
  });
});

test('a kind without its own maximum gets the configured one; minAttempts raises it, never lowers it', async () => {
  expect((await getJob(store.db, (await enqueue(plain, { id: 'x' }))!))!.max_attempts).toBe(12);
  expect((await getJob(store.db, (await enqueue(register, { receiptId: 'r-1' }))!))!.max_attempts).toBe(30);
  queue = new JobQueue(50);
  expect((await getJob(store.db, (await enqueue(register, { receiptId: 'r-2' }))!))!.max_attempts).toBe(50);
});

test('a second job with the same key is not added', async () => {
  expect(await enqueue(plain, { id: 'a' }, { key: 'plain:a' })).not.toBeNull();
  expect(await enqueue(plain, { id: 'a' }, { key: 'plain:a' })).toBeNull();
  expect(await store.db.selectFrom('jobs').select('id').execute()).toHaveLength(1);
});

test('the payload is checked against the handler where the job is queued (a type error, caught by npm test’s type check)', async () => {
  await store.db.transaction().execute(async (trx) => {
    // @ts-expect-error a field the handler does not take
    await queue.enqueue(trx, refund, { refundId: 'rf-2', amount: 1, extra: true });
    // @ts-expect-error a field missing
    await queue.enqueue(trx, refund, { refundId: 'rf-3' });
    // @ts-expect-error a field of the wrong type
    await queue.enqueue(trx, plain, { id: 42 });
  });
  // at run time the rows are written as given: the guard is the type check
  expect(await store.db.selectFrom('jobs').select('id').execute()).toHaveLength(3);
});
