import { openLimits } from '../../gateway/limiter';

/**
 * A worker process that takes a slot of a shared concurrency limit and keeps it until it is killed:
 * `node --import tsx test/helpers/slot-holder.ts <database url> <key> <max>`. Prints `holding`
 * once it has the slot.
 */
const [url, key, max] = process.argv.slice(2);
const limits = openLimits(url);
void limits.concurrency(key, Number(max)).run(async () => {
  process.stdout.write('holding\n');
  await new Promise(() => undefined);
});
