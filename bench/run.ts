import { main as callbackIngestion } from './callback-ingestion';
import { main as commercemlImport } from './commerceml-import';
import { main as fuzz } from './fuzz';
import { load, soak } from './load';
import { main as onecDelivery } from './onec-delivery';
import { main as reports } from './reports';
import { main as statementMatching } from './statement-matching';

/** Every benchmark (or those named: `npm run bench -- onec-delivery`); each prints its baseline and the ratio. */
const BENCHMARKS: Record<string, () => Promise<void>> = {
  'callback-ingestion': callbackIngestion,
  'onec-delivery': onecDelivery,
  'commerceml-import': commercemlImport,
  'statement-matching': statementMatching,
  reports,
  load,
  soak,
  fuzz,
};

async function main() {
  const wanted = process.argv.slice(2);
  for (const [name, run] of Object.entries(BENCHMARKS)) if (wanted.length === 0 || wanted.includes(name)) await run();
}
void main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
