import { chaosOptions, formatReport, runChaos } from './chaos';

/** `npm run chaos`: the full run (CHAOS_PAYMENTS, default 2000); exits 1 when anything was lost or doubled. */
async function main() {
  const payments = Number(process.env.CHAOS_PAYMENTS ?? 2000);
  const report = await runChaos({ ...chaosOptions(payments), keepDir: Boolean(process.env.CHAOS_KEEP) });
  process.stdout.write(formatReport(report));
  if (process.env.CHAOS_KEEP) process.stdout.write(`  logs and data kept in ${report.dir}\n`);
  process.exit(report.problems.length ? 1 : 0);
}

main().catch((e) => {
  process.stderr.write(`chaos: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
