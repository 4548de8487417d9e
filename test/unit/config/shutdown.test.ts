import { ConfigError, parseConfig } from '../../../gateway/config/index';

/** shutdown: what SIGTERM waits for, by default and as set; a delay past the deadline is refused by name. */

const base = {
  database: { url: 'sqlite::memory:' },
  organizations: [{ id: 'shop', name: 'ООО Магазин', siteKeys: ['site-key-0123456789'] }],
};

describe('shutdown', () => {
  test('5 s for the balancer and 25 s in all by default, inside Kubernetes’ 30 s; both can be set', () => {
    expect(parseConfig(base, {}).shutdown).toEqual({ drainDelayMs: 5000, deadlineMs: 25_000 });
    expect(parseConfig({ ...base, shutdown: { drainDelayMs: 0, deadlineMs: 8000 } }, {}).shutdown).toEqual({
      drainDelayMs: 0,
      deadlineMs: 8000,
    });
  });

  test.each([
    [{ drainDelayMs: 30_000, deadlineMs: 25_000 }, 'shutdown.drainDelayMs: must not be longer than shutdown.deadlineMs'],
    [{ deadlineMs: -1 }, 'shutdown.deadlineMs'],
    [{ drainDelayMs: '5s' }, 'shutdown.drainDelayMs'],
  ])('%j is refused naming the key', (shutdown, expected) => {
    let error: unknown;
    try {
      parseConfig({ ...base, shutdown }, {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(expected);
  });
});
