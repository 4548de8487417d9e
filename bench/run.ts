import { main as callbackIngestion } from './callback-ingestion';

/** Every benchmark; each prints its own baseline measured in the same run and the ratio. */
async function main() {
  await callbackIngestion();
}
void main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
