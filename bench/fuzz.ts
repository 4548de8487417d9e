import { runEdge, type FuzzEdge } from '../test/helpers/fuzz-edge';
import { commercemlEdge, statementEdge } from '../test/helpers/fuzz-files';
import { fuzzRuns, fuzzSeed } from '../test/helpers/fuzz-input';
import { restEdge } from '../test/helpers/fuzz-rest';

/**
 * The property tests of test/fuzz at full size: 10,000 cases (FUZZ_RUNS) of each edge — the REST
 * API, CommerceML uploads, 1CClientBankExchange statements — each against a gateway of its own on
 * SQLite. Prints per edge the cases, failures, time and seed (FUZZ_SEED replays a run), and how the
 * cases were answered. Not a timing benchmark: there is no baseline, the time says what a run costs.
 * `npm run fuzz`, or `npm run bench -- fuzz`; FUZZ_EDGES=rest,commerceml,client-bank picks edges.
 */

const EDGES: Record<string, () => Promise<FuzzEdge<any>>> = {
  rest: restEdge,
  commerceml: commercemlEdge,
  'client-bank': statementEdge,
};

export async function main(): Promise<void> {
  const runs = fuzzRuns(10_000);
  const wanted = process.env.FUZZ_EDGES?.split(',') ?? Object.keys(EDGES);
  let failed = 0;
  for (const name of wanted) {
    const edge = await EDGES[name]();
    const started = Date.now();
    try {
      const r = await runEdge(edge, runs, fuzzSeed());
      const seconds = (Date.now() - started) / 1000;
      console.log(
        `fuzz ${edge.name}: ${r.numRuns} cases, ${r.failed ? 1 : 0} failures, ${seconds.toFixed(1)} s (${((seconds * 1000) / Math.max(r.numRuns, 1)).toFixed(1)} ms a case), seed ${r.seed}`,
      );
      const outcomes = [...edge.outcomes].sort((a, b) => b[1] - a[1]);
      for (const [what, n] of outcomes) console.log(`  ${String(n).padStart(6)}  ${what}`);
      if (r.failed) {
        failed++;
        console.log(
          `  FAILED after ${r.numRuns} cases (shrunk ${r.numShrinks} times), path ${r.counterexamplePath}: ${String(r.errorInstance).slice(0, 3000)}`,
        );
      }
    } finally {
      await edge.close();
    }
  }
  if (failed) throw new Error(`${failed} edge(s) failed`);
}

if (process.argv[1]?.endsWith('fuzz.ts'))
  void main().then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
