import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { checkMapping, formatProblems, parseMetadata, type EdmModel } from '../../../../connectors/onec-odata/check';
import { ODataClient } from '../../../../connectors/onec-odata/client';
import { loadMapping, mappingFile, mappingLines, type Mapping } from '../../../../connectors/onec-odata/mapping';
import { ODataSink } from '../../../../connectors/onec-odata/sink';
import { Semaphore } from '../../../../gateway/limiter';
import { OneCError, type OneCPaymentDoc } from '../../../../gateway/ports';
import { configurationOf, type Configuration } from '../../../emulators/onec/metadata';
import { OneCEmulator } from '../../../emulators/onec/server';

/**
 * Every shipped mapping against the real configurations' metadata (the 1C emulator publishes УТ
 * 11.5.18 and УНФ 3.0.8 as their dumps define them), and the mistakes the check is there to catch.
 */

const BEFORE = resolve(__dirname, '../../../fixtures/mappings');
const USER = 'Администратор';
const PASSWORD = 'secret';

const emulators = new Map<Configuration, OneCEmulator>();
const models = new Map<Configuration, EdmModel>();

async function base(configuration: Configuration): Promise<{ em: OneCEmulator; model: EdmModel }> {
  let em = emulators.get(configuration);
  if (!em) {
    em = new OneCEmulator({ configuration });
    await em.start();
    emulators.set(configuration, em);
    const res = await fetch(`${em.odataUrl}$metadata`, {
      headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` },
    });
    models.set(configuration, parseMetadata(await res.text()));
  }
  return { em, model: models.get(configuration)! };
}

afterAll(async () => {
  await Promise.all([...emulators.values()].map((e) => e.stop()));
});

const SHIPPED: [string, Configuration][] = [
  ['ut11', 'ut11'],
  ['unf', 'unf'],
];

describe('the shipped mappings against the real metadata', () => {
  test.each(SHIPPED)('%s: every entity, field, enumeration value and marker exists and fits', async (name, configuration) => {
    const { model } = await base(configuration);
    const problems = checkMapping(loadMapping(name), model, { line: mappingLines(mappingFile(name)) });
    expect(formatProblems(name, problems)).toEqual([]);
  });

  test.each(SHIPPED)('%s: every attribute the configuration requires for posting is filled by the mapping', async (name, configuration) => {
    const m: Mapping = loadMapping(name);
    const entities = new Map(configurationOf(configuration).entities.map((e) => [e.name, e]));
    const missing: string[] = [];
    for (const [kind, spec] of Object.entries(m.documents)) {
      if (!spec) continue;
      const def = entities.get(spec.entity)!;
      // what the sink itself writes: the marker, the date, the rows, the settlement link
      const header = new Set([...Object.keys(spec.fields), spec.marker, 'Date', spec.rows.section]);
      const settlement = Object.keys(m.settlement[m.settlement.by] ?? {});
      const row = new Set([...Object.keys(spec.rows.fields), ...settlement]);
      for (const f of def.required.fields) if (!header.has(f)) missing.push(`${kind}: ${spec.entity}.${f}`);
      for (const f of def.required.rows[spec.rows.section] ?? [])
        if (!row.has(f)) missing.push(`${kind}: ${spec.entity}.${spec.rows.section}.${f}`);
    }
    expect(missing).toEqual([]);
  });
});

describe('what the check catches', () => {
  test('a release before 11.5 with `settlement.by: order`: fits; with `by: object` the missing ОбъектРасчетов is named', async () => {
    const { model } = await base('ut11-legacy');
    const m = loadMapping('ut11');
    expect(checkMapping(m, model).map((p) => p.path)).toEqual(
      expect.arrayContaining(['order.fields.settlementObject', 'settlement.object.ОбъектРасчетов_Key']),
    );
    m.settlement.by = 'order';
    expect(checkMapping(m, model)).toEqual([]);
  });

  test('the УТ 11.5 mapping as it was: no НомерВходящегоДокумента on the card operation, 11 characters on the bank receipt', async () => {
    const { model } = await base('ut11');
    const file = join(BEFORE, 'ut11-before-metadata.yaml');
    const lines = formatProblems(file, checkMapping(loadMapping(file), model, { line: mappingLines(file) }));
    const text = readFileSync(file, 'utf8').split('\n');
    const cardMarker = text.findIndex((l) => l.includes('marker: НомерВходящегоДокумента')) + 1;
    expect(lines).toContain(
      `✗ ${file}:${cardMarker} documents.card.marker: у Document_ОперацияПоПлатежнойКарте нет свойства «НомерВходящегоДокумента»`,
    );
    expect(lines.some((l) => /documents\.invoice\.marker: .*строка длиной 11/.test(l))).toBe(true);
    expect(lines.some((l) => /documents\.refundCard\.marker/.test(l))).toBe(true);
  });

  test('the УНФ mapping as it was: ВидОперации values УНФ does not have, a marker field it does not have', async () => {
    const { model } = await base('unf');
    const file = join(BEFORE, 'unf-before-metadata.yaml');
    const lines = formatProblems(file, checkMapping(loadMapping(file), model, { line: mappingLines(file) })).join('\n');
    expect(lines).toMatch(/documents\.card\.fields\.ВидОперации: «ОплатаПокупателя» — не значение перечисления ВидыОперацийЭквайринга/);
    expect(lines).toMatch(/documents\.refundCard\.kindFilter: «ВозвратПокупателю» — не значение перечисления ВидыОперацийЭквайринга/);
    expect(lines).toMatch(/documents\.card\.marker: у Document_ОперацияПоПлатежнымКартам нет свойства «ИдентификаторПлатежа»/);
    expect(lines).toMatch(
      /order\.rows\.item: у Document_ЗаказПокупателя\.Запасы нет свойства «Номенклатура_Key» \(возможно, «Номенклатура»\)/,
    );
  });

  test('a misspelled field is named with its mapping line and the name the base has', async () => {
    const { model } = await base('ut11');
    const dir = mkdtempSync(join(tmpdir(), 'map-'));
    const file = join(dir, 'ut11-typo.yaml');
    const text = readFileSync(mappingFile('ut11'), 'utf8').replace(
      '      Ответственный_Key: "{{refs.responsible}}"',
      '      Ответсвенный_Key: "{{refs.responsible}}"',
    );
    writeFileSync(file, text);
    const line = text.split('\n').findIndex((l) => l.includes('Ответсвенный_Key')) + 1;
    const lines = formatProblems(file, checkMapping(loadMapping(file), model, { line: mappingLines(file) }));
    expect(lines[0]).toBe(
      `✗ ${file}:${line} documents.card.fields.Ответсвенный_Key: у Document_ОперацияПоПлатежнойКарте нет свойства «Ответсвенный_Key» (возможно, «Ответственный_Key»)`,
    );
  });

  test('the payment order fields of the bank receipt (incoming): УНФ’s ПоступлениеНаСчет has no УИП field, and the check says so', async () => {
    const { model } = await base('unf');
    const dir = mkdtempSync(join(tmpdir(), 'map-'));
    const file = join(dir, 'unf-uip.yaml');
    const text = readFileSync(mappingFile('unf'), 'utf8').replace(
      '      purpose: НазначениеПлатежа\n',
      '      purpose: НазначениеПлатежа\n      uip: ИдентификаторПлатежа\n',
    );
    writeFileSync(file, text);
    const line = text.split('\n').findIndex((l) => l.includes('uip: ИдентификаторПлатежа')) + 1;
    const lines = formatProblems(file, checkMapping(loadMapping(file), model, { line: mappingLines(file) }));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^✗ ${file}:${line} documents\\.invoice\\.incoming\\.uip: у Document_ПоступлениеНаСчет нет свойства «ИдентификаторПлатежа»`,
      ),
    );
  });

  test('a reference where a string is expected, an unlimited marker, a marker longer than its field', async () => {
    const { model } = await base('ut11');
    const m = loadMapping('ut11');
    m.documents.card.fields.Комментарий = '{{refs.organization}}';
    m.documents.invoice.marker = 'Комментарий';
    m.documents.refundCard.markerLength = 50;
    const lines = checkMapping(m, model).map((p) => `${p.path}: ${p.message}`);
    expect(lines).toContain(
      'documents.card.fields.Комментарий: Document_ОперацияПоПлатежнойКарте.Комментарий: поле типа Edm.String, а в сопоставлении ссылка ({{refs.organization}}); для ссылки нужно свойство «…_Key»',
    );
    expect(lines.some((l) => l.startsWith('documents.invoice.marker: ') && l.includes('неограниченной длины'))).toBe(true);
    expect(lines.some((l) => l.startsWith('documents.refundCard.markerLength: markerLength 50') && l.includes('вмещает 36'))).toBe(true);
  });

  test('a document the organization does not write is only warned about; an unpublished one it writes is an error', async () => {
    const em = new OneCEmulator({
      configuration: 'unf',
      published: configurationOf('unf')
        .entities.map((e) => e.name)
        .filter((n) => n !== 'Document_ПоступлениеНаСчет'),
    });
    await em.start();
    try {
      const res = await fetch(`${em.odataUrl}$metadata`, {
        headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` },
      });
      const model = parseMetadata(await res.text());
      const cardOnly = checkMapping(loadMapping('unf'), model, { documents: ['card', 'sbp', 'refundCard'] });
      expect(cardOnly.filter((p) => p.severity === 'error')).toEqual([]);
      expect(cardOnly.map((p) => p.path)).toEqual(['documents.invoice.entity']);
      const all = checkMapping(loadMapping('unf'), model);
      expect(all.filter((p) => p.severity === 'error').map((p) => p.path)).toEqual(['documents.invoice.entity']);
    } finally {
      await em.stop();
    }
  });

  test('a $metadata that states no string lengths: lengths are not judged', () => {
    const xml = `<?xml version="1.0"?><edmx:Edmx xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx"><edmx:DataServices><Schema xmlns="http://schemas.microsoft.com/ado/2009/11/edm" Namespace="StandardODATA"><EntityType Name="Document_X"><Property Name="Ref_Key" Type="Edm.Guid"/><Property Name="M" Type="Edm.String"/></EntityType><EntityContainer Name="E"><EntitySet Name="Document_X" EntityType="StandardODATA.Document_X"/></EntityContainer></Schema></edmx:DataServices></edmx:Edmx>`;
    const model = parseMetadata(xml);
    expect(model.statesLengths).toBe(false);
    expect(model.sets.get('Document_X')!.properties.get('M')).toEqual({ type: 'Edm.String', maxLength: undefined });
  });
});

describe('the real base refuses what the old mappings wrote', () => {
  const doc = (id: string): OneCPaymentDoc =>
    ({
      kind: 'payment',
      method: 'card',
      marker: id,
      amount: 100000,
      date: '2026-11-23T10:00:00Z',
      provider: 'sber',
      providerRef: 'sber-1',
      order: { number: 'ЗК-1', total: 100000, externalId: 'site-1', onecRef: null },
    }) as unknown as OneCPaymentDoc;
  const client = (em: OneCEmulator) =>
    new ODataClient({ baseUrl: em.baseUrl, user: USER, password: PASSWORD, timeoutMs: 5000, retries: 0 }, new Semaphore(2));

  test('УТ 11.5: the marker lookup on НомерВходящегоДокумента is refused, so the old mapping never wrote a payment', async () => {
    const { em } = await base('ut11');
    em.seedCustomerOrder({ number: 'ЗК-1', total: 1000 });
    const sink = new ODataSink(client(em), loadMapping(join(BEFORE, 'ut11-before-metadata.yaml')), em.refs as never, { check: false });
    const e = await sink.deliver(doc('8e1c7f0e-8d0a-4c55-9a1f-2e3d4c5b6a70')).catch((x) => x);
    expect(e).toBeInstanceOf(OneCError);
    expect(e.message).toContain('НомерВходящегоДокумента');
    expect(em.paymentDocuments().filter((d) => d.settles?.orderNumber === 'ЗК-1')).toEqual([]);
  });

  test('УНФ: a card operation with ВидОперации ОплатаПокупателя is refused', async () => {
    const { em } = await base('unf');
    em.seedCustomerOrder({ number: 'ЗК-1', total: 1000 });
    const m = loadMapping(join(BEFORE, 'unf-before-metadata.yaml'));
    m.documents.card.marker = 'ИдентификаторПлатежнойСистемы'; // past the lookup, to the write
    m.documents.card.kindFilter = undefined;
    const sink = new ODataSink(client(em), m, em.refs as unknown as Record<string, string>, { check: false });
    const e = await sink.deliver(doc('9e1c7f0e-8d0a-4c55-9a1f-2e3d4c5b6a70')).catch((x) => x);
    expect(e).toBeInstanceOf(OneCError);
    expect(e.message).toContain('ОплатаПокупателя');
    expect(em.paymentDocuments()).toEqual([]);
  });

  test('the sink checks the base before its first write: a mapping that does not fit writes nothing', async () => {
    const { em } = await base('ut11');
    em.seedCustomerOrder({ number: 'ЗК-2', total: 1000 });
    const file = join(BEFORE, 'ut11-before-metadata.yaml');
    const sink = new ODataSink(client(em), loadMapping(file), em.refs as never, { mappingFile: file });
    const before = em.stats().byMethodAndSet;
    const e = await sink
      .deliver({ ...doc('7e1c7f0e-8d0a-4c55-9a1f-2e3d4c5b6a70'), order: { ...doc('x').order, number: 'ЗК-2' } })
      .catch((x) => x);
    expect(e).toBeInstanceOf(OneCError);
    expect(e.kind).toBe('mapping');
    expect(e.hint).toContain('нет свойства «НомерВходящегоДокумента»');
    expect(e.hint).toContain(`${file}:`);
    const after = em.stats().byMethodAndSet;
    expect(Object.keys(after).filter((k) => !k.startsWith('GET') && (after[k] ?? 0) !== (before[k] ?? 0))).toEqual([]);
  });
});
