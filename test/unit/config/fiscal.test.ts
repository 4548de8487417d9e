import { ConfigError, parseConfig } from '../../../gateway/config/index';
import { createGateway } from '../../../gateway/main';

/** organizations[].fiscal: defaults, and a clear error naming the key for every wrong set-up. */

function config(fiscal: Record<string, unknown> | undefined, org: Record<string, unknown> = { inn: '7707083893' }): any {
  return {
    database: { url: 'sqlite::memory:' },
    log: { level: 'silent' },
    organizations: [{ id: 'shop', name: 'ООО Магазин', siteKeys: ['site-key-0123456789'], ...org, ...(fiscal ? { fiscal } : {}) }],
  };
}

const atol = { id: 'web', type: 'atol-online', login: 'l', password: 'p', groupCode: 'g' };

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

describe('organizations[].fiscal', () => {
  test('off by default; a translator with ATOL Online gets the documented defaults', () => {
    expect(parseConfig(config(undefined), {}).organizations[0].fiscal.mode).toBe('off');
    const f = parseConfig(config({ mode: 'translator', registers: [atol] }), {}).organizations[0].fiscal;
    expect(f).toMatchObject({ rules: 'default', sno: 'osn', timeZone: 'Europe/Moscow', pollEverySeconds: 5, shipmentsEverySeconds: 300 });
    expect(f.registers[0]).toMatchObject({
      baseUrl: 'https://online.atol.ru/possystem/v5/',
      reportAfterSeconds: 300,
      pollEverySeconds: 30,
      callbacks: true,
      timeoutMs: 30_000,
    });
    const d = parseConfig(config({ mode: 'registrar', registers: [{ id: 'shop', type: 'atol-driver' }] }), {}).organizations[0].fiscal
      .registers[0];
    expect(d).toMatchObject({ url: 'http://127.0.0.1:16732', operator: { name: 'Кассир' }, statusEverySeconds: 60 });
  });

  test.each<[string, Record<string, unknown>, Record<string, unknown> | undefined, RegExp]>([
    [
      'a mode without registers',
      { mode: 'translator' },
      undefined,
      /organizations\[0\]\.fiscal\.registers: mode translator needs at least one register/,
    ],
    [
      'receipts without the organization’s ИНН',
      { mode: 'translator', registers: [atol] },
      {},
      /organizations\[0\]\.inn: receipts carry the organization’s ИНН/,
    ],
    [
      'two registers with one id',
      { mode: 'translator', registers: [atol, atol] },
      undefined,
      /organizations\[0\]\.fiscal\.registers\[1\]\.id: duplicate register id "web"/,
    ],
    [
      'a route to no register',
      { mode: 'translator', registers: [atol], routes: [{ register: 'nope' }] },
      undefined,
      /organizations\[0\]\.fiscal\.routes\[0\]\.register: no register "nope"/,
    ],
    [
      'an unknown register type',
      { mode: 'translator', registers: [{ ...atol, type: 'orange' }] },
      undefined,
      /organizations\[0\]\.fiscal\.registers\[0\]\.type/,
    ],
    [
      'ATOL without its group code',
      { mode: 'translator', registers: [{ ...atol, groupCode: undefined }] },
      undefined,
      /organizations\[0\]\.fiscal\.registers\[0\]\.groupCode/,
    ],
    ['an unknown taxation system', { mode: 'translator', sno: 'usn', registers: [atol] }, undefined, /organizations\[0\]\.fiscal\.sno/],
  ])('%s', (_name, fiscal, org, expected) => {
    expect(message(() => parseConfig(config(fiscal, org), {}))).toMatch(expected);
  });

  test('rules that do not load stop the start, naming the key', async () => {
    const cfg = parseConfig(config({ mode: 'translator', rules: '/nonexistent/rules.yaml', registers: [atol] }), {});
    await expect(createGateway(cfg)).rejects.toThrow(
      /organizations\[0\]\.fiscal\.rules: receipt rules "\/nonexistent\/rules\.yaml": no file/,
    );
  });
});
