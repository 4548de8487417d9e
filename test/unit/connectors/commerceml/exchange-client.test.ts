import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import iconv from 'iconv-lite';
import { run, type CliIo } from '../../../../gateway/cli/exchange-test';
import { ExchangeClient, ExchangeError, PARSE_FAILED } from '../../../../connectors/commerceml/exchange-client';

/** The client against a small fake site of its own (no gateway): what 1C sends and how it reads answers. */

const ROOT = resolve(__dirname, '../../../..');
const BIN = join(ROOT, 'bin/onec-gateway.js');

interface SeenRequest {
  method: string;
  mode: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface Answer {
  status?: number;
  headers?: Record<string, string>;
  body: string | Buffer;
}

const text = (body: string, charset = 'utf-8'): Answer => ({
  headers: { 'content-type': `text/plain; charset=${charset}` },
  body: charset === 'utf-8' ? body : iconv.encode(body, 'win1251'),
});

function ordersXml(encoding: string, documents = 2): string {
  const docs = Array.from(
    { length: documents },
    (_, i) =>
      `  <Документ><Ид>${i + 1}</Ид><Номер>A-${i + 1}</Номер><Дата>2024-05-01</Дата><ХозОперация>Заказ товара</ХозОперация><Валюта>RUB</Валюта><Сумма>1500.00</Сумма><Контрагенты><Контрагент><Наименование>Иван Петров</Наименование></Контрагент></Контрагенты></Документ>\n`,
  ).join('');
  return `<?xml version="1.0" encoding="${encoding}"?>\n<КоммерческаяИнформация ВерсияСхемы="2.05" ДатаФормирования="2024-05-01T10:00:00">\n${docs}</КоммерческаяИнформация>\n`;
}

/**
 * A Bitrix-like exchange endpoint: Basic at checkauth, a cookie after it, chunks appended per
 * file name, `progress` a few times before `success` at import. `override` answers a mode instead.
 */
class FakeSite {
  readonly requests: SeenRequest[] = [];
  readonly files = new Map<string, Buffer>();
  user = 'обмен';
  password = 'пароль:со-двоеточием';
  cookie = { name: 'PHPSESSID', value: 'c0ffee42' };
  sessid = 'sid-4242';
  fileLimit = 1000;
  /** `progress` answers before `success`, per import of a file. */
  importProgress = 0;
  importFailure: string | undefined;
  queryAnswer: Answer = {
    headers: { 'content-type': 'application/xml; charset=utf-8' },
    body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(ordersXml('UTF-8'))]),
  };
  override: Record<string, Answer> = {};
  private polls = new Map<string, number>();
  private server: Server | null = null;
  url = '';

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const u = new URL(req.url ?? '/', 'http://x');
        const seen: SeenRequest = {
          method: req.method ?? '',
          mode: u.searchParams.get('mode') ?? '',
          query: u.searchParams,
          headers: req.headers,
          body: Buffer.concat(chunks),
        };
        this.requests.push(seen);
        const a = this.answer(seen);
        res.statusCode = a.status ?? 200;
        for (const [k, v] of Object.entries(a.headers ?? {})) res.setHeader(k, v);
        res.end(a.body);
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/bitrix/admin/1c_exchange.php`;
    return this.url;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => {
      this.server?.close(() => r());
      this.server?.closeAllConnections();
    });
  }

  modes(): string[] {
    return this.requests.map((r) => r.mode);
  }

  private answer(r: SeenRequest): Answer {
    const o = this.override[r.mode];
    if (o) return o;
    if (r.query.get('type') !== 'sale') return text('failure\nтип обмена не sale');
    if (r.mode === 'checkauth') {
      const m = /^Basic (\S+)$/.exec(r.headers.authorization ?? '');
      const creds = m ? Buffer.from(m[1], 'base64').toString('utf8') : '';
      if (creds !== `${this.user}:${this.password}`) return text('failure\nНеверный логин или пароль');
      return text(`success\n${this.cookie.name}\n${this.cookie.value}\nsessid=${this.sessid}\ntimestamp=1714557600`);
    }
    if (r.headers.cookie !== `${this.cookie.name}=${this.cookie.value}`) return text('failure\nСеанс не найден');
    switch (r.mode) {
      case 'init': {
        const v = r.query.get('version');
        return text(`zip=no\nfile_limit=${this.fileLimit}${v ? `\nsessid=${this.sessid}\nversion=${v}` : ''}`);
      }
      case 'query':
        return this.queryAnswer;
      case 'success':
        return text('success');
      case 'file': {
        const name = r.query.get('filename') ?? '';
        this.files.set(name, Buffer.concat([this.files.get(name) ?? Buffer.alloc(0), r.body]));
        return text(`success\nПолучено ${this.files.get(name)!.length} байт`);
      }
      case 'import': {
        const name = r.query.get('filename') ?? '';
        if (this.importFailure) return text(`failure\n${this.importFailure}`);
        const n = this.polls.get(name) ?? 0;
        this.polls.set(name, n + 1);
        if (n < this.importProgress) return text(`progress\nОбработано ${n + 1} из ${this.importProgress + 1}`);
        return text(`success\nИмпортирован файл ${name}\nЗаказов изменено: 2`);
      }
      case 'info':
        return {
          headers: { 'content-type': 'application/xml; charset=utf-8' },
          body: '<?xml version="1.0" encoding="UTF-8"?>\n<Справочник><Статусы><Элемент><Ид>N</Ид><Название>Принят</Название></Элемент></Статусы></Справочник>',
        };
      default:
        return text('failure\nНеизвестный режим');
    }
  }
}

describe('ExchangeClient against a fake site', () => {
  let site: FakeSite;
  let client: ExchangeClient;
  beforeEach(async () => {
    site = new FakeSite();
    await site.start();
    client = new ExchangeClient({ url: site.url, user: site.user, password: site.password });
  });
  afterEach(() => site.stop());

  test('the happy sequence as УТ runs it: no init before query; a new checkauth and init before the upload; chunks of file_limit', async () => {
    const content = Buffer.from(`${ordersXml('UTF-8', 1)}${'<!-- заполнитель -->'.repeat(100)}`);
    expect(content.length).toBeGreaterThan(2 * site.fileLimit);
    const log = await client.exchange([{ name: 'orders-7f3a.xml', content }], { pollDelayMs: 1 });
    expect(log.map((s) => [s.step, s.file, s.ok])).toEqual([
      ['checkauth', undefined, true],
      ['query', undefined, true],
      ['success', undefined, true],
      ['checkauth', undefined, true],
      ['init', undefined, true],
      ['file', 'orders-7f3a.xml', true],
      ['import', 'orders-7f3a.xml', true],
    ]);
    const chunks = Math.ceil(content.length / site.fileLimit);
    expect(site.modes()).toEqual(['checkauth', 'query', 'success', 'checkauth', 'init', ...Array(chunks).fill('file'), 'import']);
    // chunked at file_limit, appended on the site's side in order
    const posts = site.requests.filter((r) => r.mode === 'file');
    expect(posts.every((r) => r.method === 'POST' && r.query.get('filename') === 'orders-7f3a.xml')).toBe(true);
    expect(posts.slice(0, -1).every((r) => r.body.length === site.fileLimit)).toBe(true);
    expect(site.files.get('orders-7f3a.xml')!.equals(content)).toBe(true);
    // Basic (UTF-8 login and password) at checkauth only; the cookie and sessid on every later call
    const auths = site.requests.filter((r) => r.mode === 'checkauth');
    for (const auth of auths) {
      expect(auth.method).toBe('GET');
      expect(Buffer.from(auth.headers.authorization!.slice('Basic '.length), 'base64').toString('utf8')).toBe(
        `${site.user}:${site.password}`,
      );
      expect(auth.headers.cookie).toBeUndefined();
    }
    for (const r of site.requests.filter((x) => x.mode !== 'checkauth')) {
      expect(r.headers.authorization).toBeUndefined();
      expect(r.headers.cookie).toBe('PHPSESSID=c0ffee42');
      expect(r.query.get('sessid')).toBe(site.sessid);
      expect(r.query.get('type')).toBe('sale');
    }
    expect(site.requests.every((r) => r.headers['user-agent'] === '1C+Enterprise/8.3')).toBe(true);
    expect(site.requests.some((r) => r.query.has('version'))).toBe(false);
    // what each step said
    const query = log[1];
    expect(query.ok && query.lines).toEqual([
      '2 Документ',
      'version 2.05',
      'encoding utf-8: prolog UTF-8, header utf-8, bytes utf-8 with a BOM: agree',
    ]);
    const imported = log[6];
    expect(imported.ok && imported.lines).toEqual(['Импортирован файл orders-7f3a.xml', 'Заказов изменено: 2']);
    expect(client.cookie).toEqual(site.cookie);
    expect(client.timestamp).toBe(1714557600);
  });

  test('the steps one by one: chunkBytes overrides file_limit; info', async () => {
    const small = new ExchangeClient({
      url: site.url,
      user: site.user,
      password: site.password,
      chunkBytes: 300,
      userAgent: '1C+Enterprise/8.2',
    });
    expect(await small.checkauth()).toEqual(['PHPSESSID', 'c0ffee42', 'sessid=sid-4242', 'timestamp=1714557600']);
    const init = await small.init();
    expect(init).toMatchObject({ zip: false, fileLimit: 1000 });
    expect(site.requests[1].query.has('version')).toBe(false);
    const up = await small.upload('documents___1.xml', Buffer.alloc(700, 0x41));
    expect(up).toEqual({ chunks: 3, bytes: 700, notes: ['Получено 300 байт', 'Получено 600 байт', 'Получено 700 байт'] });
    expect(site.requests.filter((r) => r.mode === 'file').map((r) => r.body.length)).toEqual([300, 300, 100]);
    expect(site.requests.every((r) => r.headers['user-agent'] === '1C+Enterprise/8.2')).toBe(true);
    // the same from a file read chunk by chunk
    const tmp = mkdtempSync(join(tmpdir(), 'gw-exch-'));
    try {
      const big = Buffer.from('Ж'.repeat(400)); // 800 bytes: chunks split a character, as 1C's do
      writeFileSync(join(tmp, 'big.xml'), big);
      expect(await small.uploadStream('big.xml', join(tmp, 'big.xml'))).toMatchObject({ chunks: 3, bytes: 800 });
      expect(site.files.get('big.xml')!.equals(big)).toBe(true);
      writeFileSync(join(tmp, 'empty.xml'), '');
      expect(await small.uploadStream('empty.xml', join(tmp, 'empty.xml'))).toMatchObject({ chunks: 1, bytes: 0 });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    const info = await small.info();
    expect(info.text).toContain('<Название>Принят</Название>');
  });

  test('init: 1C takes exactly two lines, zip= then file_limit=; a site echoing sessid= and version= breaks the upload', async () => {
    const asking = new ExchangeClient({ url: site.url, user: site.user, password: site.password, version: '2.05' });
    await asking.checkauth();
    const e = await asking.init().catch((x) => x);
    expect(e).toBeInstanceOf(ExchangeError);
    expect(e.mode).toBe('init');
    expect(e.reason).toMatch(/exactly two lines.*got 4/);
    expect(site.requests.at(-1)!.query.get('version')).toBe('2.05');
    // the Bitrix-style echo breaks the whole exchange before any file is sent
    const log = await asking.exchange([{ name: 'orders.xml', content: Buffer.from(ordersXml('UTF-8')) }], { pollDelayMs: 1 });
    expect(log.map((s) => [s.step, s.ok])).toEqual([
      ['checkauth', true],
      ['query', true],
      ['success', true],
      ['checkauth', true],
      ['init', false],
    ]);
    expect(site.files.size).toBe(0);
    await client.checkauth();
    site.override.init = text('file_limit=1000\nzip=no');
    await expect(client.init()).rejects.toMatchObject({ mode: 'init', reason: expect.stringContaining('first line is not "zip=yes"') });
    site.override.init = text('zip=yes\nfile_limit=4096\n');
    expect(await client.init()).toEqual({ zip: true, fileLimit: 4096, lines: ['zip=yes', 'file_limit=4096'] });
  });

  test('query: 1C loads the answer only when it begins with <?xml and is plain XML', async () => {
    await client.checkauth();
    site.queryAnswer = { headers: { 'content-type': 'application/xml; charset=utf-8' }, body: `\n${ordersXml('UTF-8')}` };
    await expect(client.query()).rejects.toMatchObject({ mode: 'query', reason: expect.stringContaining('does not begin with "<?xml"') });
    site.queryAnswer = { headers: { 'content-type': 'application/zip' }, body: Buffer.from('PK\u0003\u0004rest-of-a-zip') };
    await expect(client.query()).rejects.toMatchObject({ mode: 'query', reason: expect.stringContaining('send plain XML') });
  });

  test.each([
    ['an Ид over 40 characters', (d: string) => d.replace(/<Ид>\d+<\/Ид>/, `<Ид>${'x'.repeat(41)}</Ид>`), /Ид longer than 40/],
    ['a Валюта not of 3 characters', (d: string) => d.replace('<Валюта>RUB</Валюта>', '<Валюта>руб.</Валюта>'), /Валюта missing or not 3/],
    ['no Валюта', (d: string) => d.replace('<Валюта>RUB</Валюта>', ''), /Валюта missing/],
    [
      'no ХозОперация «Заказ товара»',
      (d: string) => d.replace('Заказ товара', 'Отпуск товара'),
      /ХозОперация missing or not «Заказ товара»/,
    ],
    [
      'a requisite value over 1000 characters',
      (d: string) =>
        d.replace(
          '</Контрагенты>',
          `</Контрагенты><ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Комментарии покупателя</Наименование><Значение>${'я'.repeat(1001)}</Значение></ЗначениеРеквизита></ЗначенияРеквизитов>`,
        ),
      /Значение longer than 1000/,
    ],
    ['a Сумма past (18,2)', (d: string) => d.replace('<Сумма>1500.00</Сумма>', '<Сумма>1500.005</Сумма>'), /Сумма not a number/],
    ['a Дата that is not a date', (d: string) => d.replace('<Дата>2024-05-01</Дата>', '<Дата>01.05.2024</Дата>'), /Дата is not a date/],
  ])('query: one document with %s makes 1C refuse the whole answer (checked against its 2.08 package)', async (_what, breakIt, reason) => {
    const xml = ordersXml('UTF-8', 3);
    const second = xml.split('\n')[3];
    site.queryAnswer = {
      headers: { 'content-type': 'application/xml; charset=utf-8' },
      body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(xml.replace(second, breakIt(second)))]),
    };
    const log = await client.exchange([], { pollDelayMs: 1 });
    expect(log.map((s) => [s.step, s.ok])).toEqual([
      ['checkauth', true],
      ['query', false],
    ]);
    const failed = log[1];
    expect(!failed.ok && failed.error).toMatch(/CommerceML 2\.08 package refuses the answer/);
    expect(!failed.ok && failed.error).toMatch(/Документ 2 №A-2/);
    expect(!failed.ok && failed.error).toMatch(reason);
    expect(site.modes()).not.toContain('success');
  });

  test('import: called again while the site answers progress, until success', async () => {
    site.importProgress = 2;
    await client.checkauth();
    await client.init();
    await client.upload('orders.xml', Buffer.from(ordersXml('UTF-8')));
    const started = Date.now();
    expect(await client.import('orders.xml', { pollDelayMs: 50 })).toEqual(['Импортирован файл orders.xml', 'Заказов изменено: 2']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(site.modes().filter((m) => m === 'import')).toHaveLength(3);
  });

  test('import: gives up after maxPolls answers of progress', async () => {
    site.importProgress = 10;
    await client.checkauth();
    const e = await client.import('orders.xml', { maxPolls: 3, pollDelayMs: 1 }).catch((x) => x);
    expect(e).toBeInstanceOf(ExchangeError);
    expect(e.mode).toBe('import');
    expect(e.reason).toMatch(/still "progress" after 3 calls \(last: Обработано 3 из 11\)/);
    expect(site.modes().filter((m) => m === 'import')).toHaveLength(3);
  });

  test('failure surfaces the site reason with the failing mode; the exchange stops there', async () => {
    site.importFailure = 'Файл orders.xml повреждён:\nстрока 3';
    const log = await client.exchange(
      [
        { name: 'orders.xml', content: Buffer.from('<x/>') },
        { name: 'second.xml', content: Buffer.from('<y/>') },
      ],
      { pollDelayMs: 1 },
    );
    expect(log.at(-1)).toEqual({ step: 'import', file: 'orders.xml', ok: false, error: 'Файл orders.xml повреждён:\nстрока 3' });
    expect(site.files.has('second.xml')).toBe(false);

    const wrong = new ExchangeClient({ url: site.url, user: site.user, password: 'не тот' });
    const e = await wrong.checkauth().catch((x) => x);
    expect(e).toBeInstanceOf(ExchangeError);
    expect(e).toMatchObject({ mode: 'checkauth', reason: 'Неверный логин или пароль', status: 200 });
    expect(e.message).toBe('mode=checkauth: Неверный логин или пароль');
    await expect(wrong.query()).rejects.toMatchObject({ mode: 'query', reason: 'no session: call checkauth() first' });
  });

  test('an answer that is not success/progress/failure is refused; a failure at query too', async () => {
    site.override.success = text('OK');
    site.override.query = text('failure\nНет прав на выгрузку заказов');
    await client.checkauth();
    await expect(client.success()).rejects.toMatchObject({
      mode: 'success',
      reason: 'unexpected answer, expected "success" on the first line: "OK"',
    });
    await expect(client.query()).rejects.toMatchObject({ mode: 'query', reason: 'Нет прав на выгрузку заказов' });
    site.override.init = text('zip=no');
    await expect(client.init()).rejects.toMatchObject({ mode: 'init', reason: expect.stringContaining('file_limit') });
  });

  test('a redirect is refused, not followed', async () => {
    site.override.checkauth = { status: 301, headers: { location: 'https://shop.example/bitrix/admin/1c_exchange.php' }, body: '' };
    const e = await client.checkauth().catch((x) => x);
    expect(e).toBeInstanceOf(ExchangeError);
    expect(e.mode).toBe('checkauth');
    expect(e.status).toBe(301);
    expect(e.reason).toContain('сайт перенаправил запрос обмена');
    expect(e.reason).toContain('https://shop.example/bitrix/admin/1c_exchange.php');
    expect(site.requests).toHaveLength(1);
  });

  test('an HTML answer or a status other than 200 is refused with a clear reason', async () => {
    await client.checkauth();
    site.override.init = {
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: '<!DOCTYPE html><html><head><title>Авторизация</title></head><body>Войдите</body></html>',
    };
    await expect(client.init()).rejects.toMatchObject({
      mode: 'init',
      reason: 'the site answered an HTML page instead of the exchange protocol: Авторизация',
    });
    // HTML sent as text/plain is still HTML
    site.override.query = { headers: { 'content-type': 'text/plain' }, body: '<html><body><h1>Сайт на обслуживании</h1></body></html>' };
    await expect(client.query()).rejects.toMatchObject({
      mode: 'query',
      reason: expect.stringContaining('HTML page instead of the exchange protocol: Сайт на обслуживании'),
    });
    site.override.success = {
      status: 502,
      headers: { 'content-type': 'text/html' },
      body: '<html><head><title>502 Bad Gateway</title></head></html>',
    };
    await expect(client.success()).rejects.toMatchObject({
      mode: 'success',
      status: 502,
      reason: 'HTTP 502: an HTML page: 502 Bad Gateway',
    });
    site.override.success = {
      status: 500,
      headers: { 'content-type': 'text/plain; charset=windows-1251' },
      body: iconv.encode('failure\nОшибка базы данных', 'win1251'),
    };
    await expect(client.success()).rejects.toMatchObject({ mode: 'success', status: 500, reason: 'HTTP 500: Ошибка базы данных' });
  });

  test('a windows-1251 query answer is decoded (and a windows-1251 text answer too)', async () => {
    const xml = ordersXml('windows-1251', 3);
    site.queryAnswer = { headers: { 'content-type': 'application/xml; charset=windows-1251' }, body: iconv.encode(xml, 'win1251') };
    site.override.success = text('success\nЗаказы выгружены', 'windows-1251');
    await client.checkauth();
    const q = await client.query();
    expect(q).toMatchObject({
      encoding: 'windows-1251',
      bytesEncoding: 'windows-1251',
      bom: false,
      prolog: 'windows-1251',
      header: 'windows-1251',
      version: '2.05',
      documents: 3,
      warnings: [],
    });
    expect(q.text).toBe(xml);
    expect(q.bytes.equals(iconv.encode(xml, 'win1251'))).toBe(true);
    expect(await client.success()).toEqual(['Заказы выгружены']);
  });

  test('UTF-8 without a BOM is read but flagged', async () => {
    site.queryAnswer = { headers: { 'content-type': 'application/xml; charset=UTF-8' }, body: ordersXml('UTF-8') };
    await client.checkauth();
    const q = await client.query();
    expect(q).toMatchObject({ encoding: 'utf-8', bom: false, documents: 2 });
    expect(q.warnings).toEqual([expect.stringContaining('UTF-8 without a BOM')]);
  });

  test.each([
    [
      'the prolog and the header charset',
      { 'content-type': 'application/xml; charset=utf-8' },
      () => iconv.encode(ordersXml('windows-1251'), 'win1251'),
      'the XML prolog declares encoding="windows-1251" but Content-Type says charset=utf-8',
    ],
    [
      'the prolog and the bytes (UTF-8 sent as windows-1251)',
      { 'content-type': 'application/xml; charset=windows-1251' },
      () => Buffer.from(ordersXml('windows-1251')),
      'the XML prolog declares encoding="windows-1251" but the bytes are UTF-8',
    ],
    [
      'the prolog and the bytes (windows-1251 sent as UTF-8)',
      { 'content-type': 'application/xml; charset=utf-8' },
      () => iconv.encode(ordersXml('UTF-8'), 'win1251'),
      'the XML prolog declares encoding="UTF-8" but the bytes are not valid UTF-8 (windows-1251?)',
    ],
    [
      'a BOM under a windows-1251 prolog',
      { 'content-type': 'application/xml; charset=windows-1251' },
      () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), iconv.encode(ordersXml('windows-1251'), 'win1251')]),
      'but the bytes start with a UTF-8 BOM',
    ],
  ])('a mismatch between %s is detected', async (_what, headers, body, reason) => {
    site.queryAnswer = { headers, body: body() };
    await client.checkauth();
    const e = await client.query().catch((x) => x);
    expect(e).toBeInstanceOf(ExchangeError);
    expect(e.mode).toBe('query');
    expect(e.reason.startsWith(`${PARSE_FAILED}: `)).toBe(true);
    expect(e.reason).toContain(reason);
  });

  test('a query answer that is not a well-formed orders document is refused', async () => {
    await client.checkauth();
    site.queryAnswer = {
      headers: { 'content-type': 'application/xml; charset=utf-8' },
      body: '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация><Документ></КоммерческаяИнформация>',
    };
    await expect(client.query()).rejects.toMatchObject({ reason: expect.stringContaining(`${PARSE_FAILED}: the XML is not well-formed`) });
    site.queryAnswer = {
      headers: { 'content-type': 'application/xml; charset=utf-8' },
      body: '<?xml version="1.0" encoding="UTF-8"?>\n<orders/>',
    };
    await expect(client.query()).rejects.toMatchObject({
      reason: `${PARSE_FAILED}: the root element is <orders>, not <КоммерческаяИнформация>`,
    });
    site.queryAnswer = { headers: { 'content-type': 'application/xml; charset=utf-8' }, body: '' };
    await expect(client.query()).rejects.toMatchObject({ reason: `${PARSE_FAILED}: the answer is empty` });
  });

  test('a site that does not answer in time, or not at all', async () => {
    const slow = createServer(() => undefined);
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const port = (slow.address() as { port: number }).port;
    const c = new ExchangeClient({ url: `http://127.0.0.1:${port}/exchange/1c`, user: 'u', password: 'p', timeoutMs: 100 });
    await expect(c.checkauth()).rejects.toMatchObject({ mode: 'checkauth', reason: `no answer from http://127.0.0.1:${port} in 100 ms` });
    await new Promise<void>((r) => {
      slow.close(() => r());
      slow.closeAllConnections();
    });
    await expect(c.checkauth()).rejects.toMatchObject({ mode: 'checkauth', reason: expect.stringContaining('ECONNREFUSED') });
  });
});

describe('onec-gateway exchange-test', () => {
  let site: FakeSite;
  let dir: string;
  beforeEach(async () => {
    site = new FakeSite();
    site.password = 'S3cr3t-пароль';
    await site.start();
    dir = mkdtempSync(join(tmpdir(), 'gw-exch-'));
  });
  afterEach(async () => {
    await site.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function capture(): CliIo & { stdout: () => string; stderr: () => string } {
    let out = '';
    let err = '';
    return { out: (t) => (out += t), err: (t) => (err += t), stdout: () => out, stderr: () => err };
  }

  test('every step succeeds: one line each with ✓, exit code 0, the password never printed', async () => {
    const file = join(dir, 'orders-1.xml');
    writeFileSync(file, ordersXml('UTF-8', 1));
    site.importProgress = 1;
    const io = capture();
    const code = await run([site.url, '--user', site.user, '--password', site.password, '--file', file, '--poll-delay-ms', '1'], io);
    expect(io.stderr()).toBe('');
    expect(code).toBe(0);
    const size = Buffer.byteLength(ordersXml('UTF-8', 1));
    expect(io.stdout().trimEnd().split('\n')).toEqual([
      `exchange-test ${site.url} as обмен, 1 file`,
      '✓ checkauth: cookie PHPSESSID; sessid received; timestamp=1714557600',
      '✓ query: 2 Документ; version 2.05; encoding utf-8: prolog UTF-8, header utf-8, bytes utf-8 with a BOM: agree',
      '✓ success',
      '✓ checkauth: cookie PHPSESSID; sessid received; timestamp=1714557600',
      '✓ init: zip=no; file_limit=1000',
      `✓ file orders-1.xml: ${size} bytes in ${Math.ceil(size / 1000)} chunk${size > 1000 ? 's' : ''}; ${Array.from({ length: Math.ceil(size / 1000) }, (_, i) => `Получено ${Math.min((i + 1) * 1000, size)} байт`).join('; ')}`,
      '✓ import orders-1.xml: Импортирован файл orders-1.xml; Заказов изменено: 2',
      'exchange succeeded',
    ]);
    expect(io.stdout()).not.toContain(site.password);
    expect(io.stdout()).not.toContain('c0ffee42');
  });

  test('a failed step: ✗ with the site reason, exit code 1; a site echoing the password is redacted', async () => {
    site.override.query = text(`failure\nНе удалось выгрузить заказы для пароля ${site.password}`);
    const io = capture();
    expect(await run([site.url, `--user=${site.user}`, `--password=${site.password}`], io)).toBe(1);
    const out = io.stdout();
    expect(out).toContain('✗ query: Не удалось выгрузить заказы для пароля ***\n');
    expect(out).not.toContain('✓ success');
    expect(out).toMatch(/exchange failed\n$/);
    expect(out).not.toContain(site.password);

    const wrong = capture();
    expect(await run([site.url, '--user', site.user, '--password', 'wrong-password'], wrong)).toBe(1);
    expect(wrong.stdout()).toContain('✗ checkauth: Неверный логин или пароль\n');
    expect(wrong.stdout()).not.toContain('wrong-password');
  });

  test.each([
    [[]],
    [['http://127.0.0.1:1/exchange/1c', '--password', 'x']],
    [['http://127.0.0.1:1/exchange/1c', '--user', 'u']],
    [['not-a-url', '--user', 'u', '--password', 'p']],
    [['http://127.0.0.1:1/exchange/1c', '--user', 'u', '--password', 'p', '--bogus']],
    [['http://127.0.0.1:1/exchange/1c', '--user', 'u', '--password', 'p', '--file']],
    [['http://127.0.0.1:1/exchange/1c', '--user', 'u', '--password', 'p', '--chunk-bytes', 'lots']],
    [['http://127.0.0.1:1/exchange/1c', '--user', 'u', '--password', 'p', '--file', '/nonexistent/orders.xml']],
  ])('bad arguments %j: usage or the reason, exit code 2', async (args) => {
    const io = capture();
    expect(await run(args, io, {})).toBe(2);
    expect(io.stderr()).toMatch(/^exchange-test: /);
    expect(io.stdout()).toBe('');
  });

  test('--password may come from EXCHANGE_PASSWORD; several files after one --file', async () => {
    const a = join(dir, 'a.xml');
    const b = join(dir, 'b.xml');
    writeFileSync(a, '<a/>');
    writeFileSync(b, '<b/>');
    const io = capture();
    expect(await run(['--user', site.user, '--file', a, b, site.url], io, { EXCHANGE_PASSWORD: site.password })).toBe(0);
    expect([...site.files.keys()]).toEqual(['a.xml', 'b.xml']);
  });

  function spawnCli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
    return new Promise((res, rej) => {
      const child = spawn(process.execPath, [BIN, 'exchange-test', ...args], { cwd: ROOT, env: { ...process.env, EXCHANGE_PASSWORD: '' } });
      let out = '';
      let err = '';
      child.stdout.on('data', (c) => (out += c));
      child.stderr.on('data', (c) => (err += c));
      child.on('error', rej);
      child.on('close', (code) => res({ code, out, err }));
    });
  }

  test('through bin/onec-gateway.js: exit codes 0, 1 and 2, no password on the screen', async () => {
    const ok = await spawnCli([site.url, '--user', site.user, '--password', site.password]);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('✓ query: 2 Документ');
    expect(ok.out + ok.err).not.toContain(site.password);

    const failed = await spawnCli([site.url, '--user', site.user, '--password', `${site.password}-wrong`]);
    expect(failed.code).toBe(1);
    expect(failed.out).toContain('✗ checkauth: Неверный логин или пароль');
    expect(failed.out + failed.err).not.toContain(site.password);

    const usage = await spawnCli(['--user', 'u']);
    expect(usage.code).toBe(2);
    expect(usage.err).toContain('usage: onec-gateway exchange-test <url>');
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// End to end against the gateway's own /exchange/1c (sandbox base "ut": windows-1251, 2.05; and a
// UTF-8 base added here).

describe('end to end: ExchangeClient against the gateway', () => {
  let h: import('../../../helpers/harness').Harness;
  let helpers: typeof import('../../../helpers/harness');
  let sandbox: typeof import('../../../sandbox/config');
  const UTF = { user: '1c-utf8', password: 'пароль-utf8' };
  beforeAll(async () => {
    // required here, not imported at the top: the gateway cannot load without the CommerceML modules
    helpers = require('../../../helpers/harness') as typeof import('../../../helpers/harness');
    sandbox = require('../../../sandbox/config') as typeof import('../../../sandbox/config');
    h = await helpers.startHarness({
      overrides: (raw) =>
        raw.exchange.bases.push({
          id: 'utf',
          user: UTF.user,
          password: UTF.password,
          version: '2.10',
          encoding: 'utf-8',
          fileLimitBytes: 1024,
        }),
    });
  });
  afterAll(() => h?.close());

  const client = (path = '/exchange/1c', extra: Partial<ConstructorParameters<typeof ExchangeClient>[0]> = {}) =>
    new ExchangeClient({ url: h.url + path, user: sandbox.SANDBOX.onecUser, password: sandbox.SANDBOX.onecPassword, ...extra });

  async function newOrder(): Promise<{ id: string; number: string }> {
    const body = helpers.orderBody();
    const r = await h.call('POST', '/api/v1/orders', body, helpers.SITE_AUTH);
    expect(r.status).toBeLessThan(300);
    return { id: r.body.id, number: body.number };
  }

  test('checkauth → query (windows-1251: prolog, header and bytes agree) → success, on every alias; init answers two lines', async () => {
    const order = await newOrder();
    for (const path of ['/exchange/1c', '/1c_exchange.php', '/bitrix/admin/1c_exchange.php']) {
      const c = client(path, { version: '2.05' });
      await c.checkauth();
      expect(c.cookie?.name).toBe('ONEC_GATEWAY_SESSID');
      const q = await c.query();
      expect(q).toMatchObject({
        encoding: 'windows-1251',
        bytesEncoding: 'windows-1251',
        bom: false,
        prolog: expect.stringMatching(/^windows-1251$/i),
        header: 'windows-1251',
        version: '2.05',
        warnings: [],
      });
      if (path === '/exchange/1c') expect(q.text).toContain(`<Номер>${order.number}</Номер>`);
      await c.success();
      // asked for a version or not, exactly the two lines 1C takes (it aborts the upload on more)
      expect(await c.init()).toEqual({ zip: false, fileLimit: 8 * 1024 * 1024, lines: ['zip=no', `file_limit=${8 * 1024 * 1024}`] });
    }
    // confirmed at success: the next query does not carry it again
    const again = client();
    await again.checkauth();
    expect((await again.query()).text).not.toContain(`<Номер>${order.number}</Номер>`);
  });

  test('a UTF-8 base: the document has a BOM and the base’s version (1C asks for none before the query)', async () => {
    const order = await newOrder();
    const c = client('/exchange/1c', { user: UTF.user, password: UTF.password });
    await c.checkauth();
    const q = await c.query();
    expect(q).toMatchObject({ encoding: 'utf-8', bom: true, header: 'utf-8', version: '2.10', warnings: [] });
    expect(q.text).toContain(`<Номер>${order.number}</Номер>`);
    expect(q.documents).toBeGreaterThanOrEqual(1);
    expect(await c.init()).toMatchObject({ fileLimit: 1024 });
  });

  test('the whole exchange with a file from 1C in chunks: the order is paid in 1C', async () => {
    const order = await newOrder();
    const xml = `<?xml version="1.0" encoding="windows-1251"?>
<КоммерческаяИнформация ВерсияСхемы="2.05" ДатаФормирования="2024-05-01T10:00:00">
  <Документ>
    <Ид>${order.number}</Ид>
    <Номер>${order.number}</Номер>
    <Номер1С>ЗК00-000123</Номер1С>
    <Дата>2024-05-01</Дата>
    <ХозОперация>Заказ товара</ХозОперация>
    <Роль>Продавец</Роль>
    <Валюта>руб</Валюта>
    <Сумма>3500.00</Сумма>
    <ЗначенияРеквизитов>
      <ЗначениеРеквизита><Наименование>Номер оплаты по 1С</Наименование><Значение>ПП-77</Значение></ЗначениеРеквизита>
      <ЗначениеРеквизита><Наименование>Дата оплаты по 1С</Наименование><Значение>2024-05-01T9:49:02</Значение></ЗначениеРеквизита>
      <ЗначениеРеквизита><Наименование>Дата отгрузки по 1С</Наименование><Значение>T</Значение></ЗначениеРеквизита>
      <ЗначениеРеквизита><Наименование>Комментарий</Наименование><Значение>${'Оплата принята бухгалтерией. '.repeat(60)}</Значение></ЗначениеРеквизита>
    </ЗначенияРеквизитов>
  </Документ>
</КоммерческаяИнформация>
`;
    const content = iconv.encode(xml, 'win1251');
    const c = client('/exchange/1c', { chunkBytes: 1024 });
    const steps: string[] = [];
    const log = await c.exchange([{ name: 'orders-3b8f1e2a-0c1d-4e5f-9a8b-7c6d5e4f3a2b.xml', content }], {
      pollDelayMs: 100,
      onStep: (s) => steps.push(s.step),
    });
    expect(log.filter((s) => !s.ok)).toEqual([]);
    expect(steps).toEqual(['checkauth', 'query', 'success', 'checkauth', 'init', 'file', 'import']);
    expect(log[5].ok && log[5].lines[0]).toBe(`${content.length} bytes in ${Math.ceil(content.length / 1024)} chunks`);
    expect(content.length).toBeGreaterThan(2048);
    expect(log[6].ok && log[6].lines[0]).toMatch(/Обработано документов: 1, изменено заказов: 1/);
    const row = await h.gateway.store.db.selectFrom('orders').selectAll().where('id', '=', order.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ onec_paid_number: 'ПП-77', onec_number: 'ЗК00-000123', status: 'paid', shipped_at: null });
  });

  test('a wrong password, an unknown session and a broken file: failure with the gateway reason, never an HTML page', async () => {
    await expect(client('/exchange/1c', { password: 'wrong' }).checkauth()).rejects.toMatchObject({
      mode: 'checkauth',
      reason: 'Неверный логин или пароль обмена с сайтом.',
    });
    const c = client();
    await c.checkauth();
    await c.init();
    c.cookie = { name: 'ONEC_GATEWAY_SESSID', value: 'x'.repeat(32) };
    c.sessid = undefined;
    await expect(c.query()).rejects.toMatchObject({ mode: 'query', reason: expect.stringContaining('Сеанс обмена не найден') });
    const ok = client();
    await ok.checkauth();
    await ok.init();
    await ok.upload('broken.xml', Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация><Документ>'));
    await expect(ok.import('broken.xml', { pollDelayMs: 50 })).rejects.toMatchObject({ mode: 'import', reason: expect.any(String) });
  });
});
