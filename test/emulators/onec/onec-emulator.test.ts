import iconv from 'iconv-lite';
import * as soap from 'soap';
import { EMPTY_REF, OneCEmulator, type OneCEmulatorOptions } from './server';

const LOGIN = 'Администратор';
const PASSWORD = 'secret';
const auth = (user = LOGIN, password = PASSWORD) => `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

type Answer = { status: number; type: string; text: string; json: any };

async function call(
  url: string,
  init: { method?: string; body?: unknown; authorization?: string | null; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.authorization !== null) headers.authorization = init.authorization ?? auth();
  if (init.body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, json };
}

const enc = encodeURIComponent;

describe('OneCEmulator', () => {
  const started: OneCEmulator[] = [];
  async function emulator(opts: Partial<OneCEmulatorOptions> = {}): Promise<OneCEmulator> {
    const em = new OneCEmulator({ configuration: 'ut11', ...opts });
    await em.start();
    started.push(em);
    return em;
  }
  afterAll(async () => {
    await Promise.all(started.map((e) => e.stop()));
  });

  describe('auth and format', () => {
    it('answers a wrong or missing password with an HTML page and status 200; 401 with the knob', async () => {
      const em = await emulator();
      const url = `${em.odataUrl}Catalog_Контрагенты?$format=json`;
      for (const authorization of [auth(LOGIN, 'wrong'), null]) {
        const r = await call(url, { authorization });
        expect(r.status).toBe(200);
        expect(r.type).toMatch(/^text\/html/);
        expect(r.json).toBeNull();
      }
      em.setKnobs({ authFailure: '401' });
      const r = await call(url, { authorization: auth(LOGIN, 'wrong') });
      expect(r.status).toBe(401);
      expect(r.text).not.toMatch(/odata/);
    });

    it('accepts a Cyrillic login only when it is sent UTF-8', async () => {
      const em = await emulator();
      const url = `${em.odataUrl}Catalog_Контрагенты?$format=json`;
      const ok = await call(url);
      expect(ok.status).toBe(200);
      expect(ok.json.value).toHaveLength(1);
      const cp1251 = `Basic ${iconv.encode(`${LOGIN}:${PASSWORD}`, 'win1251').toString('base64')}`;
      const latin1 = `Basic ${Buffer.from(`${LOGIN}:${PASSWORD}`, 'latin1').toString('base64')}`;
      for (const authorization of [cp1251, latin1]) {
        const r = await call(url, { authorization });
        expect(r.type).toMatch(/^text\/html/);
      }
    });

    it('answers Atom without $format=json, JSON with it', async () => {
      const em = await emulator();
      const atom = await call(`${em.odataUrl}Catalog_Валюты`);
      expect(atom.status).toBe(200);
      expect(atom.type).toMatch(/^application\/atom\+xml/);
      expect(atom.text).toContain('<feed');
      expect(atom.text).toContain('<d:Code>643</d:Code>');
      const json = await call(`${em.odataUrl}Catalog_Валюты?$format=json`);
      expect(json.type).toMatch(/^application\/json/);
      expect(json.json['odata.metadata']).toBe(`${em.odataUrl}$metadata#Catalog_Валюты`);
      expect(json.json.value[0]).toMatchObject({ Description: 'руб.', Code: '643', DeletionMark: false });
      const service = await call(`${em.odataUrl}?$format=json`);
      expect(service.json.value.map((v: { name: string }) => v.name)).toContain('Document_ЗаказКлиента');
      const md = await call(`${em.odataUrl}$metadata`);
      expect(md.text).toContain('<EntityType Name="Document_ОперацияПоПлатежнойКарте">');
      expect(md.text).toContain('<Property Name="LineNumber" Type="Edm.Int64"');
      // built from УТ 11.5.18's own definitions: lengths and enumerations as the configuration has them
      expect(md.text).toContain('<Property Name="ИдентификаторДокумента" Type="Edm.String" Nullable="true" MaxLength="36"/>');
      expect(md.text).toContain('<Member Name="ВозвратОплатыКлиенту"');
      const card = /<EntityType Name="Document_ОперацияПоПлатежнойКарте">.*?<\/EntityType>/.exec(md.text)![0];
      expect(card).not.toContain('НомерВходящегоДокумента');
      expect(card).toContain('<Property Name="Контрагент_Key" Type="Edm.Guid"');
    });
  });

  describe('reading with $filter', () => {
    let em: OneCEmulator;
    beforeAll(async () => {
      em = await emulator();
      em.seedCustomerOrder({ number: 'ЗК-001', total: 1500, date: '2026-11-20T10:00:00' });
      em.seedCustomerOrder({
        number: 'ЗК-002',
        total: 2500.5,
        date: '2026-11-22T10:00:00',
        rows: [{ itemRef: em.refs.items[1], quantity: 1, price: 2500.5, amount: 2500.5 }],
      });
      em.seedCustomerOrder({ number: "ЗК-'003", total: 700, date: '2026-11-23T09:30:00', paymentForm: 'Безналичная' });
    });
    const list = async (query: string) => call(`${em.odataUrl}${enc('Document_ЗаказКлиента')}?$format=json&${query}`);

    it('filters by guid and datetime literals with percent-encoded Cyrillic names', async () => {
      const f = `Организация_Key eq guid'${em.refs.organization}' and Date ge datetime'2026-11-22T00:00:00' and ФормаОплаты eq 'ПлатежнаяКарта'`;
      const r = await list(`$filter=${enc(f)}&$inlinecount=allpages`);
      expect(r.status).toBe(200);
      expect(r.json['odata.count']).toBe('1');
      expect(r.json.value.map((o: any) => o.Number)).toEqual(['ЗК-002']);
      const o = r.json.value[0];
      expect(o.Date).toBe('2026-11-22T10:00:00');
      expect(o.СуммаДокумента).toBe(2500.5);
      expect(o.Товары[0].LineNumber).toBe('1');
      expect(o.Товары[0].Количество).toBe(1);
      expect(o['Организация@navigationLinkUrl']).toBe(`Document_ЗаказКлиента(guid'${o.Ref_Key}')/Организация`);
    });

    it("handles '' escapes, or/not, $orderby, $top/$skip, $select and /$count", async () => {
      const r = await list(
        `$filter=${enc("Number eq 'ЗК-''003' or not (СуммаДокумента lt 2000)")}&$orderby=${enc('Date desc')}&$select=Number,СуммаДокумента`,
      );
      expect(r.json.value).toEqual([
        { Number: "ЗК-'003", СуммаДокумента: 700 },
        { Number: 'ЗК-002', СуммаДокумента: 2500.5 },
      ]);
      const page = await list(`$orderby=Date&$top=1&$skip=1&$inlinecount=allpages`);
      expect(page.json['odata.count']).toBe('3');
      expect(page.json.value.map((o: any) => o.Number)).toEqual(['ЗК-002']);
      const count = await call(`${em.odataUrl}${enc('Document_ЗаказКлиента')}/$count?$filter=${enc('СуммаДокумента gt 1000')}`);
      expect(count.text).toBe('2');
      const nav = await list(`$filter=${enc("Контрагент/ИНН eq '500100732259'")}&$inlinecount=allpages`);
      expect(nav.json['odata.count']).toBe('3');
    });

    it('filters tabular sections with any()', async () => {
      const r = await list(`$filter=${enc(`Товары/any(d: d/Номенклатура_Key eq guid'${em.refs.items[1]}' and d/Количество ge 1)`)}`);
      expect(r.json.value.map((o: any) => o.Number)).toEqual(['ЗК-002']);
    });

    it('answers 400 code 14 to tolower/indexof/trim, to garbage, and to + used as a space', async () => {
      for (const f of [
        "tolower(Number) eq 'зк-001'",
        "indexof(Number, 'ЗК') eq 0",
        "trim(Number) eq 'ЗК-001'",
        'Number eq',
        'НетТакогоПоля eq 1',
      ]) {
        const r = await list(`$filter=${enc(f)}`);
        expect(r.status).toBe(400);
        expect(r.json['odata.error'].code).toBe('14');
        expect(r.json['odata.error'].message.value).toMatch(/^Ошибка разбора параметра \$filter/);
      }
      const plus = await list(`$filter=Number+eq+'ЗК-001'`);
      expect(plus.status).toBe(400);
      const ok = await list(`$filter=Number%20eq%20'${enc('ЗК-001')}'`);
      expect(ok.json.value).toHaveLength(1);
    });

    it('answers 404 code 9 for an unknown ref', async () => {
      const r = await call(
        `${em.odataUrl}${enc('Document_ЗаказКлиента')}(guid'${'1'.repeat(8)}-1111-1111-1111-111111111111')?$format=json`,
      );
      expect(r.status).toBe(404);
      expect(r.json['odata.error'].code).toBe('9');
    });
  });

  describe('writing', () => {
    it('creates: long strings cut, references to missing objects stored; a property the object does not have is refused', async () => {
      const em = await emulator();
      const missing = '0f0f0f0f-0000-4000-8000-000000000001';
      const r = await call(`${em.odataUrl}Catalog_Контрагенты?$format=json`, {
        method: 'POST',
        body: { Description: 'ООО Вектор', ИНН: '7700000000123456', Партнер_Key: missing },
      });
      expect(r.status).toBe(201);
      expect(r.json.ИНН).toBe('770000000012');
      expect(r.json.Партнер_Key).toBe(missing);
      expect(r.json.Ref_Key).toMatch(/^[0-9a-f-]{36}$/);
      expect(em.get('Catalog_Контрагенты', r.json.Ref_Key)?.ИНН).toBe('770000000012');

      const before = em.list('Catalog_Контрагенты').length;
      const unknown = await call(`${em.odataUrl}Catalog_Контрагенты?$format=json`, {
        method: 'POST',
        body: { Description: 'ООО Вектор', НетТакогоПоля: 'x' },
      });
      expect(unknown.status).toBe(400);
      expect(unknown.json['odata.error'].message.value).toContain('НетТакогоПоля');
      expect(em.list('Catalog_Контрагенты')).toHaveLength(before);
    });

    it('refuses an enumeration value the configuration does not have, and an unknown property in $filter, $select and $orderby', async () => {
      const em = await emulator({ configuration: 'unf' });
      const set = 'Document_ОперацияПоПлатежнымКартам';
      // УНФ's ВидыОперацийЭквайринга has ПоступлениеОплатыОтПокупателя and ВозвратОплатыПокупателю only
      const bad = await call(`${em.odataUrl}${set}?$format=json`, { method: 'POST', body: { ВидОперации: 'ОплатаПокупателя' } });
      expect(bad.status).toBe(400);
      expect(bad.json['odata.error'].message.value).toContain('ОплатаПокупателя');
      expect(em.list(set)).toHaveLength(0);
      const good = await call(`${em.odataUrl}${set}?$format=json`, {
        method: 'POST',
        body: { ВидОперации: 'ПоступлениеОплатыОтПокупателя' },
      });
      expect(good.status).toBe(201);

      // on an empty set and behind a false condition too: the names are checked against the metadata
      const ut = await emulator();
      const card = 'Document_ОперацияПоПлатежнойКарте';
      for (const q of [
        `$filter=${enc("НомерВходящегоДокумента eq 'x' and DeletionMark eq false")}`,
        `$filter=${enc("DeletionMark eq true and НомерВходящегоДокумента eq 'x'")}`,
        `$filter=${enc("РасшифровкаПлатежа/any(d: d/НетКолонки eq 'x')")}`,
        `$select=Ref_Key,${enc('НомерВходящегоДокумента')}`,
        `$orderby=${enc('НомерВходящегоДокумента')}`,
      ]) {
        const r = await call(`${ut.odataUrl}${card}?$format=json&${q}`);
        expect({ q, status: r.status }).toEqual({ q, status: 400 });
        expect(r.json['odata.error'].message.value).toMatch(/НомерВходящегоДокумента|НетКолонки/);
      }
      const ok = await call(`${ut.odataUrl}${card}?$format=json&$filter=${enc("ИдентификаторДокумента eq 'x'")}&$select=Ref_Key`);
      expect(ok.status).toBe(200);
    });

    it('patches: only the fields sent, a section sent replaces the section, DataVersion changes, If-Match ignored', async () => {
      const em = await emulator();
      const created = await call(`${em.odataUrl}Document_ОперацияПоПлатежнойКарте?$format=json`, {
        method: 'POST',
        body: {
          Организация_Key: em.refs.organization,
          СуммаДокумента: 300,
          Комментарий: 'первый',
          РасшифровкаПлатежа: [
            { LineNumber: 1, Сумма: 100 },
            { LineNumber: 2, Сумма: 200 },
          ],
        },
      });
      expect(created.status).toBe(201);
      const doc = created.json;
      expect(doc.Number).toMatch(/^ЭК00-\d{6}$/);
      expect(doc.Date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
      expect(doc.Posted).toBe(false);
      expect(doc.ДоговорЭквайринга_Key).toBe(EMPTY_REF);
      expect(doc.РасшифровкаПлатежа.map((r: any) => r.LineNumber)).toEqual(['1', '2']);
      const url = `${em.odataUrl}Document_ОперацияПоПлатежнойКарте(guid'${doc.Ref_Key}')?$format=json`;
      const patched = await call(url, {
        method: 'PATCH',
        headers: { 'if-match': 'AAAAAAAAAAA=' },
        body: { СуммаДокумента: 150, РасшифровкаПлатежа: [{ LineNumber: 1, Сумма: 150 }] },
      });
      expect(patched.status).toBe(200);
      expect(patched.json.Комментарий).toBe('первый');
      expect(patched.json.СуммаДокумента).toBe(150);
      expect(patched.json.РасшифровкаПлатежа).toHaveLength(1);
      expect(patched.json.DataVersion).not.toBe(doc.DataVersion);
      const again = await call(url, { method: 'PATCH', headers: { 'if-match': doc.DataVersion }, body: { Комментарий: 'второй' } });
      expect(again.status).toBe(200);
      expect((await call(url)).json.Комментарий).toBe('второй');
    });

    it('answers a row without LineNumber with an unexplained 500 and writes nothing', async () => {
      const em = await emulator();
      const before = em.list('Document_ОперацияПоПлатежнойКарте').length;
      const r = await call(`${em.odataUrl}Document_ОперацияПоПлатежнойКарте?$format=json`, {
        method: 'POST',
        body: { СуммаДокумента: 100, РасшифровкаПлатежа: [{ Сумма: 100 }] },
      });
      expect(r.status).toBe(500);
      expect(r.json['odata.error']).toEqual({ code: '-1', message: { lang: 'ru', value: 'Неизвестная ошибка' } });
      expect(em.list('Document_ОперацияПоПлатежнойКарте')).toHaveLength(before);
    });

    it('posts only after the fill checks pass; unposts; marks for deletion; deletes', async () => {
      const em = await emulator();
      const set = 'Document_ОперацияПоПлатежнойКарте';
      const doc = (await call(`${em.odataUrl}${set}?$format=json`, { method: 'POST', body: { СуммаДокумента: 0 } })).json;
      const post = (ref: string) =>
        call(`${em.odataUrl}${set}(guid'${ref}')/Post?PostingModeOperational=false&$format=json`, { method: 'POST' });
      const bad = await post(doc.Ref_Key);
      expect(bad.status).toBe(500);
      expect(bad.json['odata.error'].code).toBe('-1');
      const text: string = bad.json['odata.error'].message.value;
      expect(text.startsWith("Ошибка при выполнении обработчика - 'ОбработкаПроверкиЗаполнения'\n")).toBe(true);
      // the required attributes of УТ 11.5.18's ОперацияПоПлатежнойКарте, by their synonyms
      expect(text).toContain('Поле "Организация" не заполнено');
      expect(text).toContain('Поле "Контрагент" не заполнено');
      expect(text).toContain('Поле "Ответственный" не заполнено');
      expect(text).toContain('Не введено ни одной строки в список "Расшифровка платежа"');
      // what the object module does not check for a receipt is not asked for
      expect(text).not.toContain('Заявка');

      const url = `${em.odataUrl}${set}(guid'${doc.Ref_Key}')?$format=json`;
      await call(url, {
        method: 'PATCH',
        body: {
          ХозяйственнаяОперация: 'ПоступлениеОплатыОтКлиента',
          Организация_Key: em.refs.organization,
          Контрагент_Key: em.refs.counterparty,
          ЭквайринговыйТерминал_Key: em.refs.acquiringTerminal,
          ДоговорЭквайринга_Key: em.refs.acquiringContract,
          Ответственный_Key: em.refs.responsible,
          СуммаДокумента: 500,
          РасшифровкаПлатежа: [{ LineNumber: 1, Сумма: 400 }],
        },
      });
      const rows = await post(doc.Ref_Key);
      expect(rows.json['odata.error'].message.value).toContain('Не заполнена колонка "Клиент" в строке 1 списка "Расшифровка платежа"');
      const row = { LineNumber: 1, Партнер_Key: em.refs.partner, СтатьяДвиженияДенежныхСредств_Key: em.refs.cashFlowItem };
      await call(url, { method: 'PATCH', body: { РасшифровкаПлатежа: [{ ...row, Сумма: 400 }] } });
      const mismatch = await post(doc.Ref_Key);
      expect(mismatch.status).toBe(500);
      expect(mismatch.json['odata.error'].message.value).toMatch(/Сумма документа не совпадает/);

      await call(url, { method: 'PATCH', body: { РасшифровкаПлатежа: [{ ...row, Сумма: 500 }] } });
      em.setKnobs({ rejectPosting: { entity: set, message: 'Период закрыт для изменений' } });
      const rejected = await post(doc.Ref_Key);
      expect(rejected.status).toBe(500);
      expect(rejected.json['odata.error'].message.value).toContain('Период закрыт для изменений');
      em.setKnobs({ rejectPosting: null });

      const ok = await post(doc.Ref_Key);
      expect(ok.status).toBe(200);
      expect((await call(url)).json.Posted).toBe(true);
      const unpost = await call(`${em.odataUrl}${set}(guid'${doc.Ref_Key}')/Unpost?$format=json`, { method: 'POST' });
      expect(unpost.status).toBe(200);
      expect((await call(url)).json.Posted).toBe(false);

      const marked = await call(url, { method: 'PATCH', body: { DeletionMark: true } });
      expect(marked.json.DeletionMark).toBe(true);
      expect((await call(url, { method: 'DELETE' })).status).toBe(204);
      expect((await call(url)).status).toBe(404);
    });

    it('answers an unpublished set with 404 naming it', async () => {
      const em = await emulator({ published: ['Document_ЗаказКлиента', 'Catalog_Контрагенты'] });
      const r = await call(`${em.odataUrl}Document_ОперацияПоПлатежнойКарте?$format=json`);
      expect(r.status).toBe(404);
      expect(r.json['odata.error'].message.value).toContain('Document_ОперацияПоПлатежнойКарте');
      expect((await call(`${em.odataUrl}Catalog_Контрагенты?$format=json`)).status).toBe(200);
    });

    it('denies writes to a read-only user and to sets in knobs.denyWrites (403, code 20)', async () => {
      const em = await emulator({
        users: [
          { name: LOGIN, password: PASSWORD },
          { name: 'Читатель', password: 'r', readOnly: true },
        ],
      });
      const url = `${em.odataUrl}Catalog_Партнеры?$format=json`;
      const ro = await call(url, { method: 'POST', authorization: auth('Читатель', 'r'), body: { Description: 'x' } });
      expect(ro.status).toBe(403);
      expect(ro.json['odata.error'].code).toBe('20');
      expect((await call(url, { authorization: auth('Читатель', 'r') })).status).toBe(200);
      em.setKnobs({ denyWrites: ['Catalog_Партнеры'] });
      expect((await call(url, { method: 'POST', body: { Description: 'x' } })).status).toBe(403);
      expect(em.list('Catalog_Партнеры')).toHaveLength(1);
    });
  });

  describe('knobs and counters', () => {
    it('failRate 1: 503 with an HTML page', async () => {
      const em = await emulator({ knobs: { failRate: 1 } });
      const r = await call(`${em.odataUrl}Catalog_Валюты?$format=json`);
      expect(r.status).toBe(503);
      expect(r.type).toMatch(/^text\/html/);
      expect(r.text).toContain('Service Unavailable');
      em.setKnobs({ failRate: 0, downUntil: Date.now() + 60_000 });
      expect((await call(`${em.odataUrl}Catalog_Валюты?$format=json`)).status).toBe(503);
      em.setKnobs({ downUntil: undefined, down: true, downMode: 'reset' });
      await expect(fetch(`${em.odataUrl}Catalog_Валюты?$format=json`)).rejects.toThrow();
    });

    it('lockConflictRate 1: writes answer 500 with the lock text and nothing is written', async () => {
      const em = await emulator({ knobs: { lockConflictRate: 1 } });
      const r = await call(`${em.odataUrl}Catalog_Партнеры?$format=json`, { method: 'POST', body: { Description: 'Новый' } });
      expect(r.status).toBe(500);
      expect(r.json['odata.error'].code).toBe('-1');
      expect(r.json['odata.error'].message.value).toMatch(/^Конфликт блокировок при выполнении транзакции/);
      expect(em.list('Catalog_Партнеры')).toHaveLength(1);
      expect(em.stats().writes).toBe(0);
      expect((await call(`${em.odataUrl}Catalog_Партнеры?$format=json`)).status).toBe(200);
    });

    it('latency delays every request; maxConcurrent counts requests in flight; byMethodAndSet counts calls', async () => {
      const em = await emulator({ knobs: { latencyMs: 150 } });
      const t0 = Date.now();
      await Promise.all(Array.from({ length: 5 }, () => call(`${em.odataUrl}Catalog_Валюты?$format=json`)));
      expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
      const s = em.stats();
      expect(s.maxConcurrent).toBe(5);
      expect(s.requests).toBe(5);
      expect(s.byMethodAndSet['GET Catalog_Валюты']).toBe(5);
      expect(s.inFlight).toBe(0);
    });

    it('control endpoints: knobs, seed/order, snapshot, stats (no auth)', async () => {
      const em = await emulator();
      const knobs = await call(`${em.url}/__emulator/knobs`, { method: 'POST', authorization: null, body: { latencyMs: 5 } });
      expect(knobs.json.latencyMs).toBe(5);
      const seeded = await call(`${em.url}/__emulator/seed/order`, {
        method: 'POST',
        authorization: null,
        body: { number: 'ЗК-900', total: 99.9 },
      });
      expect(seeded.status).toBe(201);
      expect(seeded.json.Number).toBe('ЗК-900');
      const snap = await call(`${em.url}/__emulator/snapshot`, { authorization: null });
      expect(snap.json.orders).toEqual([expect.objectContaining({ number: 'ЗК-900', total: 99.9, paid: 0 })]);
      const stats = await call(`${em.url}/__emulator/stats`, { authorization: null });
      expect(stats.json.requests).toBe(0);
    });
  });

  describe('configurations', () => {
    it('ut11: creating an order creates its Catalog_ОбъектыРасчетов', async () => {
      const em = await emulator();
      const r = await call(`${em.odataUrl}Document_ЗаказКлиента?$format=json`, {
        method: 'POST',
        body: {
          Организация_Key: em.refs.organization,
          СуммаДокумента: 10,
          Товары: [{ LineNumber: 1, Номенклатура_Key: em.refs.items[0], Количество: 1, Цена: 10, Сумма: 10 }],
        },
      });
      expect(r.status).toBe(201);
      const so = r.json.ОбъектРасчетов_Key;
      expect(so).not.toBe(EMPTY_REF);
      const obj = await call(`${em.odataUrl}Catalog_ОбъектыРасчетов(guid'${so}')?$format=json`);
      expect(obj.json).toMatchObject({ Объект: r.json.Ref_Key, Объект_Type: 'StandardODATA.Document_ЗаказКлиента' });
      const byCast = await call(
        `${em.odataUrl}Catalog_ОбъектыРасчетов?$format=json&$filter=${enc(`Объект eq cast(guid'${r.json.Ref_Key}', 'Document_ЗаказКлиента')`)}`,
      );
      expect(byCast.json.value.map((o: any) => o.Ref_Key)).toEqual([so]);
      const bare = await call(`${em.odataUrl}Catalog_ОбъектыРасчетов?$format=json&$filter=${enc(`Объект eq guid'${r.json.Ref_Key}'`)}`);
      expect(bare.json.value).toEqual([]);
    });

    it('ut11-legacy: payment rows carry Заказ/Заказ_Type, there are no settlement objects', async () => {
      const em = await emulator({ configuration: 'ut11-legacy' });
      const order = em.seedCustomerOrder({ number: 'ЗК-100', total: 1000 });
      expect(order).not.toHaveProperty('ОбъектРасчетов_Key');
      expect((await call(`${em.odataUrl}Catalog_ОбъектыРасчетов?$format=json`)).status).toBe(404);
      const set = 'Document_ОперацияПоПлатежнойКарте';
      const id = '5b1c7f0e-8d0a-4c55-9a1f-2e3d4c5b6a70';
      const withSettlementObject = await call(`${em.odataUrl}${set}?$format=json`, {
        method: 'POST',
        body: { РасшифровкаПлатежа: [{ LineNumber: 1, ОбъектРасчетов_Key: EMPTY_REF }] },
      });
      expect(withSettlementObject.status).toBe(400);
      const doc = await call(`${em.odataUrl}${set}?$format=json`, {
        method: 'POST',
        body: {
          ХозяйственнаяОперация: 'ПоступлениеОплатыОтКлиента',
          Организация_Key: em.refs.organization,
          Контрагент_Key: em.refs.counterparty,
          ЭквайринговыйТерминал_Key: em.refs.acquiringTerminal,
          ДоговорЭквайринга_Key: em.refs.acquiringContract,
          Ответственный_Key: em.refs.responsible,
          СуммаДокумента: 1000,
          ИдентификаторДокумента: em.marker(id),
          РасшифровкаПлатежа: [
            {
              LineNumber: 1,
              Партнер_Key: em.refs.partner,
              СтатьяДвиженияДенежныхСредств_Key: em.refs.cashFlowItem,
              Заказ: order.Ref_Key,
              Заказ_Type: 'StandardODATA.Document_ЗаказКлиента',
              Сумма: 1000,
            },
          ],
        },
      });
      expect(doc.status).toBe(201);
      const row = doc.json.РасшифровкаПлатежа[0];
      expect(row).toMatchObject({ Заказ: order.Ref_Key, Заказ_Type: 'StandardODATA.Document_ЗаказКлиента', LineNumber: '1' });
      expect(row).not.toHaveProperty('ОбъектРасчетов_Key');
      expect(doc.json.ИдентификаторДокумента).toBe(id);
      const f = `РасшифровкаПлатежа/any(r: r/Заказ eq cast(guid'${order.Ref_Key}', 'Document_ЗаказКлиента'))`;
      expect((await call(`${em.odataUrl}${set}?$format=json&$filter=${enc(f)}`)).json.value).toHaveLength(1);
      expect(
        (await call(`${em.odataUrl}${set}(guid'${doc.json.Ref_Key}')/Post?PostingModeOperational=false`, { method: 'POST' })).status,
      ).toBe(200);
      expect(em.snapshot().orders[0].paid).toBe(1000);
    });

    it('ut11: the card operation gets ИдентификаторДокумента and НомерПлатежнойКарты "0" only when they are empty', async () => {
      const em = await emulator();
      const set = 'Document_ОперацияПоПлатежнойКарте';
      const own = await call(`${em.odataUrl}${set}?$format=json`, { method: 'POST', body: { ИдентификаторДокумента: 'gw-1' } });
      expect(own.json).toMatchObject({ ИдентификаторДокумента: 'gw-1', НомерПлатежнойКарты: '0' });
      const none = await call(`${em.odataUrl}${set}?$format=json`, { method: 'POST', body: {} });
      expect(none.json.ИдентификаторДокумента).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('ut11: the bank receipt gets ИдентификаторДокумента only when empty (a document the accountant imported has one too)', async () => {
      const em = await emulator();
      const set = encodeURIComponent('Document_ПоступлениеБезналичныхДенежныхСредств');
      const own = await call(`${em.odataUrl}${set}?$format=json`, { method: 'POST', body: { ИдентификаторДокумента: 'gw-2' } });
      expect(own.json.ИдентификаторДокумента).toBe('gw-2');
      const imported = await call(`${em.odataUrl}${set}?$format=json`, { method: 'POST', body: { НомерВходящегоДокумента: '512' } });
      expect(imported.json).toMatchObject({
        НомерВходящегоДокумента: '512',
        ИдентификаторДокумента: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      expect(imported.json).not.toHaveProperty('НомерПлатежнойКарты');
    });

    it('unf: ЗаказПокупателя and ОперацияПоПлатежнымКартам with СуммаПлатежа', async () => {
      const em = await emulator({ configuration: 'unf' });
      expect(em.baseUrl).toMatch(/\/unf$/);
      const order = em.seedCustomerOrder({ number: 'ЗП-1', total: 2000 });
      expect(order).toMatchObject({
        СостояниеЗаказа_Type: 'StandardODATA.Catalog_СостоянияЗаказовПокупателей',
        Договор_Key: em.refs.contract,
        Posted: true,
      });
      expect(order.Запасы).toHaveLength(1);
      const set = 'Document_ОперацияПоПлатежнымКартам';
      const id = '5b1c7f0e-8d0a-4c55-9a1f-2e3d4c5b6a70';
      const row = {
        LineNumber: 1,
        Договор_Key: em.refs.contract,
        Заказ: order.Ref_Key,
        Заказ_Type: 'StandardODATA.Document_ЗаказПокупателя',
        ПризнакАванса: true,
        Курс: 1,
        Кратность: 1,
        СтавкаНДС_Key: em.refs.vatRate,
        СуммаРасчетов: 2000,
      };
      const doc = await call(`${em.odataUrl}${enc(set)}?$format=json`, {
        method: 'POST',
        body: {
          Организация_Key: em.refs.organization,
          ВидОперации: 'ПоступлениеОплатыОтПокупателя',
          ЭквайринговыйТерминал_Key: em.refs.acquiringTerminal,
          Контрагент_Key: em.refs.counterparty,
          СуммаДокумента: 2000,
          ИдентификаторПлатежнойСистемы: id,
          РасшифровкаПлатежа: [{ ...row, СуммаПлатежа: 1999 }],
        },
      });
      expect(doc.json.ИдентификаторПлатежнойСистемы).toBe(id);
      const post = () =>
        call(`${em.odataUrl}${enc(set)}(guid'${doc.json.Ref_Key}')/Post?PostingModeOperational=false&$format=json`, { method: 'POST' });
      const first = await post();
      expect(first.status).toBe(500);
      // УНФ 3.0.8 requires the bank account, the currency, the card kind, the rate and the accounting sum
      for (const field of ['Банковский счет', 'Валюта кассы', 'Вид оплаты', 'Кратность', 'Сумма в валюте учета'])
        expect(first.json['odata.error'].message.value).toContain(`Поле "${field}" не заполнено`);
      await call(`${em.odataUrl}${enc(set)}(guid'${doc.json.Ref_Key}')?$format=json`, {
        method: 'PATCH',
        body: {
          БанковскийСчет_Key: em.refs.bankAccount,
          ВалютаДенежныхСредств_Key: em.refs.currency,
          ВидПлатежнойКарты: 'Банковская карта',
          Курс: 1,
          Кратность: 1,
          НалогообложениеНДС: 'ОблагаетсяНДС',
          Статья_Key: em.refs.cashFlowItem,
          СуммаУчета: 2000,
          РасшифровкаПлатежа: [{ ...row, СуммаПлатежа: 2000 }],
        },
      });
      const second = await post();
      expect(second.json).toBeNull();
      expect(second.status).toBe(200);
      expect(em.paymentDocuments()).toEqual([
        expect.objectContaining({
          entity: set,
          posted: true,
          amount: 2000,
          marker: id,
          operation: 'ПоступлениеОплатыОтПокупателя',
          settles: { orderRef: order.Ref_Key, orderNumber: 'ЗП-1' },
        }),
      ]);
      expect((await call(`${em.odataUrl}Document_ЗаказКлиента?$format=json`)).status).toBe(404);
    });
  });

  describe('HTTP service', () => {
    it('records and posts a payment, idempotently by paymentId', async () => {
      const em = await emulator();
      const order = em.seedCustomerOrder({ number: 'ЗК-500', total: 1500 });
      const url = `${em.baseUrl}/hs/gateway/payments`;
      const paymentId = '0d5f7a3e-1b2c-4d5e-8f90-a1b2c3d4e5f6';
      const body = { paymentId, kind: 'payment', method: 'card', orderNumber: 'ЗК-500', amount: 1500, date: '2026-11-23T10:45:07Z' };
      const first = await call(url, { method: 'POST', body });
      expect(first.status).toBe(201);
      expect(first.json).toEqual({ ref: expect.any(String), number: expect.stringMatching(/^ЭК00-/), posted: true });
      const second = await call(url, { method: 'POST', body });
      expect(second.status).toBe(200);
      expect(second.json).toEqual(first.json);
      expect((await call(`${url}/${paymentId}`)).json).toEqual(first.json);
      expect((await call(`${url}/00000000-0000-0000-0000-000000000000`)).status).toBe(404);

      const doc = em.get('Document_ОперацияПоПлатежнойКарте', first.json.ref)!;
      expect(doc.ИдентификаторДокумента).toBe(em.marker(paymentId));
      expect(doc).toMatchObject({ Контрагент_Key: em.refs.counterparty, Ответственный_Key: em.refs.responsible });
      expect((doc.РасшифровкаПлатежа as any[])[0].ОбъектРасчетов_Key).toBe(order.ОбъектРасчетов_Key);
      expect(em.snapshot().orders[0]).toMatchObject({ number: 'ЗК-500', paid: 1500 });

      const invoice = await call(url, {
        method: 'POST',
        body: { ...body, paymentId: 'inv-1', method: 'invoice', orderRef: order.Ref_Key, amount: 10 },
      });
      expect(invoice.status).toBe(201);
      expect(em.get('Document_ПоступлениеБезналичныхДенежныхСредств', invoice.json.ref)).toMatchObject({
        Posted: true,
        НомерВходящегоДокумента: 'inv-1',
      });
    });

    it('answers 404 for an unknown order, 422 with the 1C text when posting fails, and wants auth', async () => {
      const em = await emulator();
      em.seedCustomerOrder({ number: 'ЗК-501', total: 100 });
      const url = `${em.baseUrl}/hs/gateway/payments`;
      const body = { paymentId: 'p-1', kind: 'payment', method: 'sbp', orderNumber: 'ЗК-404', amount: 100, date: '2026-11-23T10:45:07' };
      const missing = await call(url, { method: 'POST', body });
      expect(missing.status).toBe(404);
      expect(missing.json.error).toMatch(/Заказ ЗК-404 не найден/);
      em.setKnobs({ rejectPosting: { entity: 'Document_ОперацияПоПлатежнойКарте', message: 'Не указан эквайринговый договор' } });
      const rejected = await call(url, { method: 'POST', body: { ...body, orderNumber: 'ЗК-501' } });
      expect(rejected.status).toBe(422);
      expect(rejected.json.error).toContain('Не указан эквайринговый договор');
      expect(em.paymentDocuments()).toHaveLength(0);
      const anon = await call(url, { method: 'POST', body, authorization: auth(LOGIN, 'nope') });
      expect(anon.type).toMatch(/^text\/html/);
    });
  });

  describe('SOAP web service', () => {
    it('RegisterPayment / FindPayment through the WSDL, faults carry the 1C text, 401 without auth', async () => {
      const em = await emulator();
      const order = em.seedCustomerOrder({ number: 'ЗК-700', total: 700 });
      const noAuth = await call(em.wsdlUrl, { authorization: null });
      expect(noAuth.status).toBe(401);
      const client = await soap.createClientAsync(em.wsdlUrl, { wsdl_headers: { Authorization: auth() } });
      client.setSecurity(new soap.BasicAuthSecurity(LOGIN, PASSWORD));
      const [none] = await client.FindPaymentAsync({ PaymentId: 'soap-1' });
      expect(none.return).toMatchObject({ Found: false });
      const args = {
        PaymentId: 'soap-1',
        Kind: 'payment',
        Method: 'card',
        OrderRef: order.Ref_Key,
        OrderNumber: 'ЗК-700',
        Amount: '700.00',
        Date: '2026-11-23T10:45:07',
      };
      const [created] = await client.RegisterPaymentAsync(args);
      expect(created.return).toEqual({ Ref: expect.any(String), Number: expect.stringMatching(/^ЭК00-/), Posted: true });
      const [again] = await client.RegisterPaymentAsync(args);
      expect(again.return.Ref).toBe(created.return.Ref);
      const [found] = await client.FindPaymentAsync({ PaymentId: 'soap-1' });
      expect(found.return).toEqual({ Found: true, Ref: created.return.Ref, Number: created.return.Number });
      expect(em.get('Document_ОперацияПоПлатежнойКарте', created.return.Ref)?.Date).toBe('2026-11-23T10:45:07');

      await expect(
        client.RegisterPaymentAsync({ ...args, PaymentId: 'soap-2', OrderRef: '', OrderNumber: 'ЗК-000' }),
      ).rejects.toMatchObject({
        root: { Envelope: { Body: { Fault: { faultstring: expect.stringContaining('не найден') } } } },
      });
      const bad = new soap.BasicAuthSecurity(LOGIN, 'wrong');
      client.setSecurity(bad);
      await expect(client.FindPaymentAsync({ PaymentId: 'soap-1' })).rejects.toMatchObject({ response: { status: 401 } });
      expect(em.stats().byMethodAndSet['POST ws/gateway']).toBe(6);
    });
  });

  describe('snapshot', () => {
    it('sums posted, not deletion-marked payment documents per order; refunds subtract', async () => {
      const em = await emulator();
      const a = em.seedCustomerOrder({ number: 'ЗК-1', total: 1000 });
      em.seedCustomerOrder({ number: 'ЗК-2', total: 500 });
      const url = `${em.baseUrl}/hs/gateway/payments`;
      const pay = (paymentId: string, orderNumber: string, amount: number, kind = 'payment') =>
        call(url, { method: 'POST', body: { paymentId, kind, method: 'card', orderNumber, amount, date: '2026-11-23T10:00:00' } });
      await pay('a1', 'ЗК-1', 600);
      await pay('a2', 'ЗК-1', 400.01);
      await pay('a3', 'ЗК-1', 100, 'refund');
      await pay('b1', 'ЗК-2', 500);
      // an unposted document and a deletion-marked one do not count
      em.seed('Document_ОперацияПоПлатежнойКарте', {
        Организация_Key: em.refs.organization,
        СуммаДокумента: 50,
        РасшифровкаПлатежа: [{ LineNumber: 1, ОбъектРасчетов_Key: a.ОбъектРасчетов_Key, Сумма: 50 }],
      });
      const b1 = em.paymentDocuments().find((p) => p.marker === 'b1')!;
      await call(`${em.odataUrl}Document_ОперацияПоПлатежнойКарте(guid'${b1.ref}')?$format=json`, {
        method: 'PATCH',
        body: { DeletionMark: true },
      });
      const snap = em.snapshot();
      expect(snap.configuration).toBe('ut11');
      expect(snap.orders.map((o) => [o.number, o.paid])).toEqual([
        ['ЗК-1', 900.01],
        ['ЗК-2', 0],
      ]);
      expect(snap.payments).toHaveLength(5);
      expect(snap.payments.find((p) => p.marker === 'a3')).toMatchObject({
        operation: 'ВозвратОплатыКлиенту',
        settles: { orderRef: a.Ref_Key, orderNumber: 'ЗК-1' },
      });
      expect(snap.payments.find((p) => p.marker === 'b1')).toMatchObject({ deletionMark: true, posted: false });
    });
  });
});
