import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../gateway/config';
import { OneCEmulator } from '../emulators/onec/server';

/** The commands of CONTRACTS.md as a user runs them, and the deployment files they rely on. */

const ROOT = resolve(__dirname, '../..');
const BIN = join(ROOT, 'bin/onec-gateway.js');

function run(args: string[], env: Record<string, string> = {}, cwd = ROOT) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', PORT: '', GATEWAY_CONFIG: '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('the CLI', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('start without a config fails naming the file and the sandbox', () => {
    const r = run(['start'], {}, dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain(join(dir, 'gateway.config.yaml'));
    expect(r.err).toContain('npm run sandbox');
  });

  test('a bad config stops the start with the key path and the reason', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'server: { port: "eighty" }\norganizations:\n  - id: Main Org\n    name: x\n');
    const r = run(['start'], { GATEWAY_CONFIG: file });
    expect(r.code).toBe(1);
    expect(r.err).toContain('server.port');
    expect(r.err).toContain('organizations[0].id');
  });

  test('a secret missing from the environment is named with its key', () => {
    const r = run(['start'], { GATEWAY_CONFIG: join(ROOT, 'gateway.config.example.yaml'), ADMIN_KEY: 'admin-key-0123456789' });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/organizations\[0\]\.siteKeys\[0\]: environment variable SITE_KEY is not set/);
  });

  test('migrate creates the schema and is idempotent', () => {
    const file = join(dir, 'gateway.config.yaml');
    const env = {
      SITE_KEY: 'site-key-0123456789',
      ADMIN_KEY: 'admin-key-0123456789',
      SBER_USERNAME: 'shop-api',
      SBER_PASSWORD: 'p',
      SBER_CALLBACK_SECRET: 'callback-secret',
      DATABASE_URL: `sqlite:${join(dir, 'g.db')}`,
    };
    writeFileSync(file, readFileSync(join(ROOT, 'gateway.config.example.yaml')));
    const first = run(['migrate'], { ...env, GATEWAY_CONFIG: file });
    expect(first.code).toBe(0);
    expect(first.out).toContain('applied: 0001_init');
    const second = run(['migrate'], { ...env, GATEWAY_CONFIG: file });
    expect(second.out).toContain('schema is up to date');
  });

  test('an unknown command is refused with the help', () => {
    const r = run(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown command "frobnicate"');
    expect(r.err).toContain('worker');
  });

  test('start serves the API without the sandbox controls', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const env = {
      SITE_KEY: 'site-key-0123456789',
      ADMIN_KEY: 'admin-key-0123456789',
      SBER_USERNAME: 'shop-api',
      SBER_PASSWORD: 'p',
      SBER_CALLBACK_SECRET: 'callback-secret',
      DATABASE_URL: `sqlite:${join(dir, 'g.db')}`,
      PORT: String(port),
      GATEWAY_CONFIG: join(ROOT, 'gateway.config.example.yaml'),
      LOG_LEVEL: 'warn',
    };
    const child = spawn(process.execPath, [BIN, 'start'], { cwd: ROOT, env: { ...process.env, REDIS_URL: '', ...env }, stdio: 'ignore' });
    try {
      let live = false;
      for (let i = 0; i < 200 && !live; i++) {
        live = await fetch(`http://127.0.0.1:${port}/health/live`).then(
          (r) => r.ok,
          () => false,
        );
        if (!live) await new Promise((r) => setTimeout(r, 100));
      }
      expect(live).toBe(true);
      const sandbox = await fetch(`http://127.0.0.1:${port}/sandbox/payments/x/complete`, { method: 'POST' });
      expect(sandbox.status).toBe(404);
      const ready = await (await fetch(`http://127.0.0.1:${port}/health/ready`)).json();
      expect(ready).toMatchObject({
        status: 'ok',
        checks: { store: { ok: true, dialect: 'sqlite' }, queue: { ok: true, runner: 'local' } },
      });
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }, 30_000);
});

describe('onec check', () => {
  let em: OneCEmulator;
  let dir: string;
  beforeAll(async () => {
    em = new OneCEmulator({ configuration: 'ut11' });
    await em.start();
  });
  afterAll(() => em.stop());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-check-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** The command in a child process (the emulated base answers from this one meanwhile). */
  function check(mapping: string, args: string[] = []): Promise<{ code: number | null; out: string }> {
    const file = join(dir, 'gateway.config.yaml');
    const { items: _i, partner: _p, counterparty: _c, ...refs } = em.refs as unknown as Record<string, unknown>;
    writeFileSync(
      file,
      JSON.stringify({
        organizations: [
          {
            id: 'main',
            name: 'ООО «Ромашка»',
            payments: { card: { provider: 'sber' } },
            providers: {
              sber: {
                baseUrl: 'http://127.0.0.1:9',
                userName: 'u',
                password: 'p',
                callback: { mode: 'symmetric', secret: 'callback-secret' },
              },
            },
            onec: { transport: 'odata', baseUrl: em.baseUrl, user: 'Администратор', password: 'secret', mapping, refs },
          },
        ],
      }),
    );
    return new Promise((done) => {
      const child = spawn(process.execPath, [BIN, 'onec', 'check', '--config', file, ...args], {
        cwd: dir,
        env: { ...process.env, REDIS_URL: '' },
      });
      let out = '';
      child.stdout.on('data', (b) => (out += b));
      child.stderr.on('data', (b) => (out += b));
      child.on('close', (code) => done({ code, out }));
    });
  }

  test('the sandbox’s base and the shipped УТ 11.5 mapping: nothing wrong', async () => {
    const r = await check('ut11', ['--base', 'main']);
    expect(r.out).toContain('✓ the base has everything the mapping names');
    expect(r.code).toBe(0);
  });

  test('a misspelled field: named with the mapping line to fix and exit code 1', async () => {
    const file = join(dir, 'ut11-typo.yaml');
    const text = readFileSync(join(ROOT, 'mappings/ut11.yaml'), 'utf8').replace(
      '      Контрагент_Key: "{{order.counterparty}}"',
      '      Контрагнет_Key: "{{order.counterparty}}"',
    );
    writeFileSync(file, text);
    const line = text.split('\n').findIndex((l) => l.includes('Контрагнет_Key')) + 1;
    const r = await check(file);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `✗ ${file}:${line} documents.card.fields.Контрагнет_Key: у Document_ОперацияПоПлатежнойКарте нет свойства «Контрагнет_Key» (возможно, «Контрагент_Key»)`,
    );
  });

  test('an organization that does not exist is refused with the ones that do', async () => {
    const r = await check('ut11', ['--base', 'other']);
    expect(r.code).toBe(2);
    expect(r.out).toContain('no organization "other" with onec.transport odata (have: main)');
  });
});

describe('deployment files', () => {
  test('the example config is valid once its secrets are in the environment', () => {
    const cfg = loadConfig(join(ROOT, 'gateway.config.example.yaml'), {
      SITE_KEY: 'site-key-0123456789',
      ADMIN_KEY: 'admin-key-0123456789',
      SBER_USERNAME: 'shop-api',
      SBER_PASSWORD: 'p',
      SBER_CALLBACK_SECRET: 'callback-secret',
    });
    expect(cfg.organizations[0]).toMatchObject({ id: 'main', payments: { card: { provider: 'sber' } } });
    expect(cfg.database.url).toBe('sqlite:./data/gateway.db');
  });

  test('docker-compose.yml: gateway, worker, redis and postgres, wired by environment', () => {
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['gateway', 'worker', 'redis', 'postgres']));
    for (const name of ['gateway', 'worker']) {
      const s = compose.services[name];
      expect(s.environment.DATABASE_URL).toContain('postgres://');
      expect(s.environment.REDIS_URL).toBe('redis://redis:6379');
      expect(s.depends_on).toMatchObject({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
    }
    expect(compose.services.gateway.command).toContain('--no-worker');
    expect(compose.services.worker.command).toContain('worker');
    // docker stop kills after 10 s unless told otherwise: both get longer than the shutdown deadline
    const { shutdown } = loadConfig(join(ROOT, 'gateway.config.example.yaml'), {
      SITE_KEY: 'site-key-0123456789',
      ADMIN_KEY: 'admin-key-0123456789',
      SBER_USERNAME: 'shop-api',
      SBER_PASSWORD: 'p',
      SBER_CALLBACK_SECRET: 'callback-secret',
    });
    for (const name of ['gateway', 'worker']) {
      const grace = /^(\d+)s$/.exec(compose.services[name].stop_grace_period ?? '');
      expect(Number(grace?.[1] ?? 10) * 1000).toBeGreaterThan(shutdown.deadlineMs);
    }
  });

  const composeBin = ['docker-compose', 'docker'].find(
    (b) => spawnSync(b, b === 'docker' ? ['compose', 'version'] : ['version'], { encoding: 'utf8' }).status === 0,
  );
  // skipped only on a machine without compose, never in CI (.ci/run installs it)
  (composeBin || process.env.CI ? test : test.skip)(`${composeBin ?? 'docker compose'} config accepts docker-compose.yml`, () => {
    if (!composeBin) throw new Error('neither docker-compose nor docker compose is installed');
    const args = composeBin === 'docker' ? ['compose', 'config', '-q'] : ['config', '-q'];
    const r = spawnSync(composeBin!, args, {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, SITE_KEY: 's', ADMIN_KEY: 'a', SBER_USERNAME: 'u', SBER_PASSWORD: 'p', SBER_CALLBACK_SECRET: 'c' },
    });
    expect(r.stderr).not.toMatch(/invalid/i);
    expect(r.status).toBe(0);
  });

  /**
   * The image holds what the Dockerfile's COPY lines copy (and its npm ci); the rest of the
   * repository, test/ included, is not there. The commands are run from such a copy.
   */
  describe('from what the Docker image holds', () => {
    let image: string;
    beforeAll(() => {
      image = mkdtempSync(join(tmpdir(), 'gw-image-'));
      const copies = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
        .split('\n')
        .filter((l) => /^COPY\s/.test(l))
        .flatMap((l) => l.trim().split(/\s+/).slice(1, -1));
      expect(copies).toEqual(expect.arrayContaining(['bin', 'gateway', 'connectors']));
      for (const c of copies) cpSync(join(ROOT, c), join(image, c), { recursive: true });
      // the image's npm ci, without installing it again here
      symlinkSync(join(ROOT, 'node_modules'), join(image, 'node_modules'), 'dir');
      expect(existsSync(join(image, 'test'))).toBe(false);
    });
    afterAll(() => rmSync(image, { recursive: true, force: true }));

    const fromImage = (args: string[], env: Record<string, string> = {}) =>
      spawnSync(process.execPath, [join(image, 'bin/onec-gateway.js'), ...args], {
        cwd: image,
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, ...env },
      });

    test('exchange-test runs (its help, and a refused argument)', () => {
      const help = fromImage(['exchange-test', '--help']);
      expect(help.status).toBe(0);
      expect(help.stdout).toContain('checkauth → query → success (no init before the query');
      const bad = fromImage(['exchange-test', 'not-a-url', '--user', 'u'], { EXCHANGE_PASSWORD: '' });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain('exchange-test:');
    });

    test('the sandbox says clearly that it is not part of the image', () => {
      const r = fromImage(['sandbox']);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('the sandbox is not part of this installation');
      expect(r.stderr).toContain('npm run sandbox');
    });
  });
});
