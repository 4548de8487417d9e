/**
 * Property: whatever file 1C's exchange uploads (generated orders with wrong dates, amounts and
 * statuses, the fixtures damaged: lines and sections dropped or doubled, flipped bytes, cut short,
 * another encoding), the gateway answers success or failure with its own reason in Russian, and a
 * refused file changes nothing but the exchange's record of it. FUZZ_RUNS / FUZZ_SEED as in rest.test.ts.
 */
import { runEdge, type FuzzEdge } from '../helpers/fuzz-edge';
import { type FileCase, commercemlEdge } from '../helpers/fuzz-files';
import { fuzzRuns, fuzzSeed } from '../helpers/fuzz-input';

let edge: FuzzEdge<FileCase>;
beforeAll(async () => {
  edge = await commercemlEdge();
});
afterAll(async () => {
  await edge?.close();
});

test('a CommerceML file is taken or refused with the gateway’s reason, and a refused one changes nothing', async () => {
  const r = await runEdge(edge, fuzzRuns(500), fuzzSeed());
  if (r.failed)
    throw new Error(
      `seed ${r.seed}, path ${r.counterexamplePath}: ${String(r.errorInstance)}\ncase: ${JSON.stringify(r.counterexample?.[0]?.label)} ${(r.counterexample?.[0]?.archive?.entries[0]?.bytes ?? r.counterexample?.[0]?.bytes)?.toString('base64').slice(0, 3000)}`,
    );
  const outcomes = [...edge.outcomes.keys()].join('\n');
  expect(outcomes).toMatch(/^success$/m);
  expect(outcomes).toMatch(/^failure: /m);
}, 120_000);
