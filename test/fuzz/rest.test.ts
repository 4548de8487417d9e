import { runEdge, type FuzzEdge } from '../helpers/fuzz-edge';
import { fuzzRuns, fuzzSeed } from '../helpers/fuzz-input';
import { restEdge, type RestCase } from '../helpers/fuzz-rest';

/**
 * Property: whatever the site sends to the REST API — bodies generated from its schemas, valid
 * bodies with one thing broken, broken JSON, a wrong content type — the answer is never a 5xx, an
 * error has the API's error shape, nothing crashes, and a refused request changes nothing in the store.
 * FUZZ_RUNS sets the number of cases (500 here; `npm run fuzz` runs 10,000), FUZZ_SEED replays a run.
 */

let edge: FuzzEdge<RestCase>;
beforeAll(async () => {
  edge = await restEdge();
});
afterAll(async () => {
  await edge?.close();
});

test('bad requests get a clear 4xx and change nothing; good ones are taken', async () => {
  const r = await runEdge(edge, fuzzRuns(500), fuzzSeed());
  if (r.failed)
    throw new Error(
      `seed ${r.seed}, path ${r.counterexamplePath}: ${String(r.errorInstance)}\ncase: ${JSON.stringify(r.counterexample, (_k, v) => (v?.type === 'Buffer' ? Buffer.from(v.data).toString().slice(0, 1000) : v)).slice(0, 2000)}`,
    );
  // both sides were reached: accepted requests and refused ones
  const statuses = [...edge.outcomes.keys()].join('\n');
  expect(statuses).toMatch(/: 20[01]/);
  expect(statuses).toMatch(/: 422 validation_failed/);
  expect(statuses).toMatch(/: 400 malformed_json/);
  // every case carries a valid key: no refusal is an authentication's
  expect(statuses).not.toMatch(/: (401|429)/);
}, 120_000);
