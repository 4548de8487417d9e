/**
 * Property: whatever statement file an accountant uploads (generated ones with wrong dates and
 * amounts, huge values, lines and sections dropped or doubled, flipped bytes, cut short, another
 * encoding), the gateway takes it (200) or refuses it with 422 statement_refused naming the line,
 * never anything else, and a refused file stores nothing. FUZZ_RUNS / FUZZ_SEED as in rest.test.ts.
 */
import { runEdge, type FuzzEdge } from '../helpers/fuzz-edge';
import { type FileCase, statementEdge } from '../helpers/fuzz-files';
import { fuzzRuns, fuzzSeed } from '../helpers/fuzz-input';

let edge: FuzzEdge<FileCase>;
beforeAll(async () => {
  edge = await statementEdge();
});
afterAll(async () => {
  await edge?.close();
});

test('a statement file is taken or refused with the reason, and a refused one stores nothing', async () => {
  const r = await runEdge(edge, fuzzRuns(500), fuzzSeed());
  if (r.failed)
    throw new Error(
      `seed ${r.seed}, path ${r.counterexamplePath}: ${String(r.errorInstance)}\ncase: ${JSON.stringify(r.counterexample?.[0]?.label)} ${r.counterexample?.[0]?.bytes.toString('base64').slice(0, 3000)}`,
    );
  const outcomes = [...edge.outcomes.keys()].join('\n');
  expect(outcomes).toMatch(/^200$/m);
  expect(outcomes).toMatch(/^422 statement_refused$/m);
}, 120_000);
