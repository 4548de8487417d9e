import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** BENCH_PROFILE=file.cpuprofile: a CPU profile of the measured phase only. */
export async function profileIf(file: string | undefined): Promise<() => Promise<void>> {
  if (!file) return async () => undefined;
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

/**
 * A full collection of the heap: what is still held afterwards is what a leak would show in; and
 * what V8's memory reducer does once a burst of allocation has stopped.
 */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}
