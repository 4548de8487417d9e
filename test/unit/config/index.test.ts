import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../../gateway/config/index';
import { paymentsWriterOf } from '../../../gateway/config/schema';

function minimal(): any {
  return {
    organizations: [
      {
        id: 'shop',
        name: 'ООО Магазин',
        siteKeys: ['site-key-0123456789'],
        payments: { card: { provider: 'sber' } },
        providers: {
          sber: {
            baseUrl: 'https://3dsec.sberbank.ru/payment/rest/',
            userName: 'shop-api',
            password: 'pw',
            callback: { mode: 'symmetric', secret: 'longenoughsecret' },
          },
        },
      },
    ],
  };
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('parseConfig', () => {
  test('a minimal config is valid and gets the defaults', () => {
    const cfg = parseConfig(minimal(), {});
    expect(cfg.organizations[0].id).toBe('shop');
    expect(cfg.organizations[0].providers.sber?.password).toBe('pw');
    expect(cfg.history).toEqual({ everyMinutes: 60, overlapMinutes: 180, lookbackHours: 24 });
    expect(cfg.database.url).toBe('sqlite:./data/gateway.db');
    expect(cfg.server.port).toBe(8080);
  });

  test('${ENV} placeholders are replaced from the environment', () => {
    const raw = minimal();
    raw.organizations[0].providers.sber.password = '${SBER_PASSWORD}';
    raw.organizations[0].providers.sber.callback.secret = 'pre-${SBER_SECRET}-post';
    const cfg = parseConfig(raw, { SBER_PASSWORD: 'from-env', SBER_SECRET: 'abcdefgh' });
    expect(cfg.organizations[0].providers.sber?.password).toBe('from-env');
    expect(cfg.organizations[0].providers.sber?.callback).toEqual({ mode: 'symmetric', secret: 'pre-abcdefgh-post' });
  });

  test('${X:-default} uses the default when X is unset or empty, the variable when set', () => {
    const raw = minimal();
    raw.organizations[0].name = '${ORG_NAME:-Магазин по умолчанию}';
    expect(parseConfig(raw, {}).organizations[0].name).toBe('Магазин по умолчанию');
    expect(parseConfig(raw, { ORG_NAME: '' }).organizations[0].name).toBe('Магазин по умолчанию');
    expect(parseConfig(raw, { ORG_NAME: 'Другой' }).organizations[0].name).toBe('Другой');
  });

  test('a missing env var is an error naming the key path and the variable', () => {
    const raw = minimal();
    raw.organizations[0].providers.sber.password = '${SBER_PASSWORD}';
    const e = errorOf(() => parseConfig(raw, {}));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain('organizations[0].providers.sber.password');
    expect(e.message).toContain('SBER_PASSWORD');
  });

  test('a bad value is an error with the key path and the reason', () => {
    const raw = minimal();
    raw.organizations[0].id = 'Bad Id';
    const e = errorOf(() => parseConfig(raw, {}));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain('organizations[0].id');
    expect(e.message).toContain('lowercase latin letters');
  });

  test('a too-short site key is rejected with its path and reason', () => {
    const raw = minimal();
    raw.organizations[0].siteKeys = ['short'];
    const e = errorOf(() => parseConfig(raw, {}));
    expect(e.message).toContain('organizations[0].siteKeys[0]');
    expect(e.message).toContain('at least 16 characters');
  });

  test('payments.card pointing to a provider with no settings is rejected naming the path', () => {
    const raw = minimal();
    raw.organizations[0].providers = {};
    const e = errorOf(() => parseConfig(raw, {}));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain('organizations[0].payments.card.provider');
    expect(e.message).toContain('organizations[0].providers.sber');
  });

  test('duplicate organization ids are rejected', () => {
    const raw = minimal();
    raw.organizations.push({ ...minimal().organizations[0], name: 'Второе' });
    const e = errorOf(() => parseConfig(raw, {}));
    expect(e.message).toContain('organizations[1].id');
    expect(e.message).toContain('duplicate organization id "shop"');
  });

  describe('exchange.bases[].paymentsWrittenBy: one writer of payments per 1C base', () => {
    const withBase = (base: Record<string, unknown>, transport?: 'odata' | 'http' | 'soap') => {
      const raw = minimal();
      if (transport) raw.organizations[0].onec = { transport, baseUrl: 'http://1c.example/ut', user: 'gw', password: 'pw' };
      raw.exchange = { bases: [{ id: 'ut', user: '1c', password: 'secret', ...base }] };
      return raw;
    };

    test('1C writing payments from the exchange while the gateway delivers them over OData, HTTP or SOAP is refused at start, naming both settings', () => {
      for (const transport of ['odata', 'http', 'soap'] as const) {
        const e = errorOf(() => parseConfig(withBase({ paymentsWrittenBy: 'onec' }, transport), {}));
        expect(e).toBeInstanceOf(ConfigError);
        expect(e.message).toContain('exchange.bases[0].paymentsWrittenBy');
        expect(e.message).toContain(`organizations[0].onec.transport is "${transport}"`);
        expect(e.message).toContain('a second time');
      }
      // a base that does not serve that organization does not clash with it
      const raw = withBase({ paymentsWrittenBy: 'onec', organizations: [] }, 'odata');
      expect(paymentsWriterOf(parseConfig(raw, {}), parseConfig(raw, {}).exchange.bases[0])).toBe('onec');
    });

    test('who writes, when not set: the gateway when an organization the base serves delivers payments, else 1C', () => {
      const viaOData = parseConfig(withBase({}, 'odata'), {});
      expect(paymentsWriterOf(viaOData, viaOData.exchange.bases[0])).toBe('gateway');
      const exchangeOnly = parseConfig(withBase({}), {});
      expect(paymentsWriterOf(exchangeOnly, exchangeOnly.exchange.bases[0])).toBe('onec');
      const set = parseConfig(withBase({ paymentsWrittenBy: 'gateway' }, 'http'), {});
      expect(paymentsWriterOf(set, set.exchange.bases[0])).toBe('gateway');
    });

    test('a base naming an organization that does not exist is refused', () => {
      expect(errorOf(() => parseConfig(withBase({ organizations: ['shop', 'nope'] }), {})).message).toContain(
        'exchange.bases[0].organizations[1]: no organization with id "nope"',
      );
    });
  });

  test('DATABASE_URL overrides database.url', () => {
    const raw = { ...minimal(), database: { url: 'sqlite:./other.db' } };
    expect(parseConfig(raw, {}).database.url).toBe('sqlite:./other.db');
    expect(parseConfig(raw, { DATABASE_URL: 'postgres://u@db/gw' }).database.url).toBe('postgres://u@db/gw');
  });
});

describe('loadConfig', () => {
  test('a missing file mentions npm run sandbox', () => {
    const e = errorOf(() => loadConfig('/nonexistent/dir/gateway.yaml', {}));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain('/nonexistent/dir/gateway.yaml');
    expect(e.message).toContain('npm run sandbox');
  });

  test('reads YAML and prefixes validation errors with the file name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-config-'));
    try {
      const file = join(dir, 'gateway.yaml');
      writeFileSync(file, 'organizations:\n  - id: shop\n    name: Shop\n    siteKeys: ["${SITE_KEY}"]\n');
      expect(loadConfig(file, { SITE_KEY: 'k'.repeat(16) }).organizations[0].siteKeys).toEqual(['k'.repeat(16)]);
      const e = errorOf(() => loadConfig(file, {}));
      expect(e.message).toContain(file);
      expect(e.message).toContain('organizations[0].siteKeys[0]');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
