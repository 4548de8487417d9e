import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import yazl from 'yazl';
import { count, errorShapeProblem, Invariants, type FuzzEdge } from './fuzz-edge';
import { byteMutation, mutateBytes, type ByteMutation } from './fuzz-input';
import { ADMIN_AUTH, orderBody, SITE_AUTH, startHarness, type Harness } from './harness';
import { SANDBOX } from '../sandbox/config';

/**
 * The file edges: 1CClientBankExchange statements uploaded by an accountant and CommerceML files
 * uploaded by 1C's exchange, generated (mostly well-formed, with wrong dates, amounts and huge values
 * mixed in) and damaged (lines and sections dropped or doubled, bytes flipped, cut short, re-encoded).
 */

const FIXTURES = join(__dirname, '..', 'fixtures');
/** The project's shared corpus of real files, beside the repository, where it is. */
const SHARED = join(__dirname, '..', '..', '..', 'shared', 'fixtures');

/** The files of a fixtures folder here and of the same folder of the shared corpus (and its subfolders). */
function seeds(folder: string, ext: RegExp): Buffer[] {
  const out: Buffer[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory() && e.name !== 'xsd') walk(join(dir, e.name));
      else if (e.isFile() && ext.test(e.name)) out.push(readFileSync(join(dir, e.name)));
    }
  };
  walk(join(FIXTURES, folder));
  walk(join(SHARED, folder));
  return out;
}
/** Mostly what banks write, now and then what they should not. */
const encoding = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('win1251', 'utf8', 'cp866') },
  { weight: 1, arbitrary: fc.constantFrom('koi8-r', 'utf16le', 'utf16be', 'latin1') },
);
const HUGE = 'Я'.repeat(100_000);

/** Line-level damage: a line dropped, doubled or blown up, a block doubled or dropped, two lines swapped. */
type LineMutation =
  | { kind: 'dropLine'; at: number }
  | { kind: 'doubleLine'; at: number }
  | { kind: 'hugeLine'; at: number }
  | { kind: 'dropBlock'; at: number; length: number }
  | { kind: 'doubleBlock'; at: number; length: number }
  | { kind: 'swap'; a: number; b: number };

const lineMutation: fc.Arbitrary<LineMutation> = fc.oneof(
  fc.record({ kind: fc.constant('dropLine' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('doubleLine' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('hugeLine' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('dropBlock' as const), at: fc.nat(), length: fc.integer({ min: 2, max: 40 }) }),
  fc.record({ kind: fc.constant('doubleBlock' as const), at: fc.nat(), length: fc.integer({ min: 2, max: 40 }) }),
  fc.record({ kind: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }),
);

function mutateLines(lines: string[], m: LineMutation): string[] {
  if (lines.length === 0) return lines;
  const out = [...lines];
  if (m.kind === 'swap') {
    const a = m.a % out.length;
    const b = m.b % out.length;
    [out[a], out[b]] = [out[b], out[a]];
    return out;
  }
  const at = m.at % out.length;
  switch (m.kind) {
    case 'dropLine':
      out.splice(at, 1);
      return out;
    case 'doubleLine':
      out.splice(at, 0, out[at]);
      return out;
    case 'hugeLine': {
      const eq = out[at].indexOf('=');
      const gt = out[at].indexOf('>');
      out[at] =
        eq > 0 ? `${out[at].slice(0, eq + 1)}${HUGE}` : gt > 0 ? `${out[at].slice(0, gt + 1)}${HUGE}${out[at].slice(gt + 1)}` : HUGE;
      return out;
    }
    case 'dropBlock':
      out.splice(at, m.length);
      return out;
    case 'doubleBlock':
      out.splice(at, 0, ...out.slice(at, at + m.length));
      return out;
  }
}

interface FileDamage {
  lines: readonly LineMutation[];
  bytes: readonly ByteMutation[];
}
const damage: fc.Arbitrary<FileDamage> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ lines: [], bytes: [] }) },
  { weight: 3, arbitrary: fc.record({ lines: fc.array(lineMutation, { minLength: 1, maxLength: 3 }), bytes: fc.constant([]) }) },
  { weight: 2, arbitrary: fc.record({ lines: fc.constant([]), bytes: fc.array(byteMutation, { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ lines: fc.array(lineMutation, { maxLength: 2 }), bytes: fc.array(byteMutation, { maxLength: 2 }) }) },
);

function damaged(text: string, encoding: string, d: FileDamage, eol = '\r\n'): Buffer {
  const lines = d.lines.reduce(mutateLines, text.split(/\r?\n/));
  return d.bytes.reduce(mutateBytes, iconv.encode(lines.join(eol), encoding));
}

// ---------------------------------------------------------------- 1CClientBankExchange

const ACCOUNT = SANDBOX.bank.account;

const cbDate = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('01.12.2026', '02.12.2026', '03.12.2026') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '31.02.2026',
      '00.00.0000',
      '2026-12-01',
      '1.12.2026',
      '99.99.9999',
      '',
      '01.13.2026',
      '29.02.2023',
      '01.12.20266',
    ),
  },
);
const cbAmount = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('3500.00', '100.50', '1', '0.01', '12345678.90') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '0',
      '0.00',
      '-3500.00',
      '3500,00',
      '3 500.00',
      '3500.001',
      '1e9',
      'NaN',
      'Infinity',
      '',
      '99999999999999999999.99',
      '90071992547409.93',
      '.5',
      '5.',
      '+1',
    ),
  },
);

const cbDocument = fc.record({
  kind: fc.constantFrom('Платежное поручение', 'Банковский ордер', 'Платёжное требование'),
  number: fc.constantFrom('1', '2', '3', '17', '001'),
  date: cbDate,
  amount: cbAmount,
  incoming: fc.boolean(),
  purpose: fc.oneof(
    fc.constantFrom('Оплата по счету № СЧ-1 от 01.12.2026', 'Оплата заказа N-fz-1, без НДС', ''),
    fc.string({ maxLength: 80 }),
  ),
  inn: fc.constantFrom('7736207543', '500100732259', '', '123'),
});

/** A statement of 0 to 3 documents, each well-formed or with a wrong date or amount. */
const generatedStatement = fc
  .record({
    version: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom('1.03', '1.02', '1.01') },
      { weight: 1, arbitrary: fc.constantFrom('2.00', '', '1.3') },
    ),
    from: cbDate,
    documents: fc.array(cbDocument, { maxLength: 3 }),
  })
  .map(({ version, from, documents }) =>
    [
      '1CClientBankExchange',
      `ВерсияФормата=${version}`,
      'Кодировка=Windows',
      'Отправитель=СберБизнес',
      'Получатель=1С:Предприятие',
      `ДатаНачала=${from}`,
      'ДатаКонца=03.12.2026',
      `РасчСчет=${ACCOUNT}`,
      'СекцияРасчСчет',
      `ДатаНачала=${from}`,
      'ДатаКонца=03.12.2026',
      `РасчСчет=${ACCOUNT}`,
      'НачальныйОстаток=0.00',
      'КонецРасчСчет',
      ...documents.flatMap((d) => [
        `СекцияДокумент=${d.kind}`,
        `Номер=${d.number}`,
        `Дата=${d.date}`,
        `Сумма=${d.amount}`,
        `ПлательщикСчет=${d.incoming ? '40702810100000000777' : ACCOUNT}`,
        `ПлательщикИНН=${d.inn}`,
        'Плательщик1=ООО «Вектор»',
        `ПолучательСчет=${d.incoming ? ACCOUNT : '40702810100000000777'}`,
        `${d.incoming ? 'ДатаПоступило' : 'ДатаСписано'}=${d.date}`,
        'ПолучательИНН=7707083893',
        'Получатель1=ООО «Ромашка»',
        `НазначениеПлатежа=${d.purpose}`,
        'КонецДокумента',
      ]),
      'КонецФайла',
    ].join('\r\n'),
  );

const cbSeeds = seeds('client-bank-exchange', /\.txt$/);

export interface FileCase {
  label: string;
  bytes: Buffer;
  /** Sent as a zip of these files (the archive then damaged by `damage`) instead of `bytes`. */
  archive?: { entries: { name: string; bytes: Buffer }[]; damage: readonly ByteMutation[] };
}

const statementCase: fc.Arbitrary<FileCase> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(generatedStatement, encoding, damage)
      .map(([text, enc, d]) => ({ label: `generated ${enc}`, bytes: damaged(text, enc, d) })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.nat({ max: cbSeeds.length - 1 }), damage)
      // as bytes (latin1 keeps each byte): the seeds are in windows-1251, cp866 and UTF-8
      .map(([i, d]) => ({ label: 'fixture', bytes: damaged(cbSeeds[i].toString('latin1'), 'latin1', d) })),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((b) => ({ label: 'random bytes', bytes: Buffer.from(b) })) },
);

/** The admin's statement upload: 200 (taken) or 422 `statement_refused` naming the line, nothing stored. */
export async function statementEdge(): Promise<FuzzEdge<FileCase>> {
  const h = await startHarness({ worker: false });
  const inv = new Invariants(h);
  await inv.start();
  const outcomes = new Map<string, number>();
  return {
    name: '1CClientBankExchange',
    arbitrary: statementCase,
    outcomes,
    async check(c) {
      const res = await fetch(`${h.url}/api/v1/admin/statements?organization=main`, {
        method: 'POST',
        headers: { ...ADMIN_AUTH, 'content-type': 'text/plain' },
        body: c.bytes,
      });
      const text = await res.text();
      const what = `statement (${c.label}, ${c.bytes.length} bytes)`;
      count(outcomes, `${res.status}${res.status >= 400 ? ` ${JSON.parse(text)?.error?.code}` : ''}`);
      if (res.status !== 200 && res.status !== 422) throw new Error(`${what}: ${res.status} ${text.slice(0, 500)}`);
      if (res.status === 422) {
        const problem = errorShapeProblem(res.status, res.headers.get('content-type'), text);
        if (problem) throw new Error(`${what}: ${problem}`);
        if (JSON.parse(text).error.code !== 'statement_refused') throw new Error(`${what}: refused as ${text.slice(0, 300)}`);
      }
      await inv.after(res.status !== 200, what);
    },
    async close() {
      inv.close();
      await h.close();
    },
  };
}

// ---------------------------------------------------------------- CommerceML

const cmlSeeds = seeds('commerceml', /\.xml$/);

const cmlAmount = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('3500.00', '3500', '1 500,50', '0.01') },
  { weight: 1, arbitrary: fc.constantFrom('-3500', '0', '1e21', '99999999999999999999', 'NaN', 'три', '', '3500.005', '1,2,3') },
);
const cmlDate = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('2026-12-01', '2026-11-30') },
  { weight: 1, arbitrary: fc.constantFrom('2026-02-31', '01.12.2026', 'T', '', '0000-00-00', '2026-13-01', '9999-99-99') },
);
const cmlStatus = fc.constantFrom('Оплачен', 'Отменен', 'Отгружен', 'Принят', '');

const cmlDocument = fc.record({
  id: fc.constantFrom('fz-1', 'fz-2', 'fz-3', 'cml-new-1', 'cml-new-2', '', '<>&'),
  number: fc.constantFrom('N-fz-1', 'N-fz-2', '7001', ''),
  date: cmlDate,
  sum: cmlAmount,
  price: cmlAmount,
  quantity: fc.constantFrom('1', '2', '0', '-1', '1,5', 'x'),
  status: cmlStatus,
  paid: fc.boolean(),
});

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const generatedCml = fc
  .record({
    version: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom('2.08', '2.09', '2.10', '2.05') },
      { weight: 1, arbitrary: fc.constantFrom('9.99', '') },
    ),
    docs: fc.array(cmlDocument, { maxLength: 3 }),
  })
  .map(({ version, docs }) =>
    [
      '<?xml version="1.0" encoding="UTF-8"?>',
      `<КоммерческаяИнформация ВерсияСхемы="${version}" ДатаФормирования="2026-12-01T10:00:00">`,
      ...docs.flatMap((d) => [
        '<Документ>',
        `<Ид>${escapeXml(d.id)}</Ид>`,
        `<Номер>${escapeXml(d.number)}</Номер>`,
        `<Дата>${d.date}</Дата>`,
        '<ХозОперация>Заказ товара</ХозОперация>',
        '<Роль>Продавец</Роль>',
        '<Валюта>руб</Валюта>',
        `<Сумма>${d.sum}</Сумма>`,
        '<Товары>',
        '<Товар>',
        '<Ид>sku-1</Ид>',
        '<Наименование>Товар</Наименование>',
        `<ЦенаЗаЕдиницу>${d.price}</ЦенаЗаЕдиницу>`,
        `<Количество>${d.quantity}</Количество>`,
        `<Сумма>${d.sum}</Сумма>`,
        '</Товар>',
        '</Товары>',
        '<ЗначенияРеквизитов>',
        `<ЗначениеРеквизита><Наименование>Статус заказа</Наименование><Значение>${d.status}</Значение></ЗначениеРеквизита>`,
        `<ЗначениеРеквизита><Наименование>Заказ оплачен</Наименование><Значение>${d.paid}</Значение></ЗначениеРеквизита>`,
        `<ЗначениеРеквизита><Наименование>Дата оплаты по 1С</Наименование><Значение>${d.date}</Значение></ЗначениеРеквизита>`,
        '</ЗначенияРеквизитов>',
        '</Документ>',
      ]),
      '</КоммерческаяИнформация>',
    ].join('\n'),
  );

const cmlFile: fc.Arbitrary<FileCase> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        generatedCml,
        fc.oneof({ weight: 8, arbitrary: fc.constant('utf8') }, { weight: 1, arbitrary: fc.constantFrom('win1251', 'utf16le') }),
        damage,
      )
      .map(([text, enc, d]) => ({ label: `generated ${enc}`, bytes: damaged(text, enc, d, '\n') })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.nat({ max: cmlSeeds.length - 1 }), damage)
      // as bytes (latin1 keeps each byte): the seeds are in UTF-8 and windows-1251
      .map(([i, d]) => ({ label: 'fixture', bytes: damaged(cmlSeeds[i].toString('latin1'), 'latin1', d, '\n') })),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((b) => ({ label: 'random bytes', bytes: Buffer.from(b) })) },
);

const cmlCase: fc.Arbitrary<FileCase> = fc.oneof(
  { weight: 6, arbitrary: cmlFile },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.array(fc.tuple(fc.constantFrom('orders.xml', 'b.XML', 'dir/c.xml', 'notes.txt', 'dir/'), cmlFile), {
          minLength: 1,
          maxLength: 3,
        }),
        fc.oneof(fc.constant([]), fc.array(byteMutation, { minLength: 1, maxLength: 2 })),
      )
      .map(([files, damage]) => ({
        label: `zip of ${files.length}${damage.length ? ', damaged' : ''}`,
        bytes: Buffer.alloc(0),
        archive: { entries: files.map(([name, f], i) => ({ name: name.endsWith('/') ? name : `${i}-${name}`, bytes: f.bytes })), damage },
      })),
  },
);

function zip(entries: { name: string; bytes: Buffer }[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const z = new yazl.ZipFile();
    for (const e of entries) {
      if (e.name.endsWith('/')) z.addEmptyDirectory(e.name);
      else z.addBuffer(e.bytes, e.name);
    }
    const chunks: Buffer[] = [];
    z.outputStream
      .on('data', (c: Buffer) => chunks.push(c))
      .on('end', () => resolve(Buffer.concat(chunks)))
      .on('error', reject);
    z.end();
  });
}

/** Tables the exchange keeps its own books in: a refused file is recorded there as refused. */
const EXCHANGE_BOOKS = ['exchange_sessions', 'exchange_files'];

async function exchangeCookie(h: Harness): Promise<string> {
  const res = await fetch(`${h.url}/exchange/1c?type=sale&mode=checkauth`, {
    headers: { authorization: `Basic ${Buffer.from(`${SANDBOX.onecUser}:${SANDBOX.onecPassword}`).toString('base64')}` },
  });
  const lines = (await res.text()).split('\n');
  if (lines[0] !== 'success') throw new Error(`checkauth: ${lines.join(' ')}`);
  return `${lines[1]}=${lines[2]}`;
}

/**
 * 1C's upload of a file (mode=file, then mode=import): `success` (taken), or `failure` with a reason
 * of the gateway's own in Russian — never its «internal error», never a bare exception's text — and a
 * refused file leaves the orders, payments and every other table but the exchange's books as they were.
 */
export async function commercemlEdge(): Promise<FuzzEdge<FileCase>> {
  const h = await startHarness({ worker: false });
  for (const n of ['fz-1', 'fz-2', 'fz-3']) {
    const r = await h.call('POST', '/api/v1/orders', orderBody({ externalId: n, number: `N-${n}` }), SITE_AUTH);
    if (r.status !== 201) throw new Error(`the target order was not created: ${r.text}`);
  }
  let cookie = await exchangeCookie(h);
  const inv = new Invariants(h, EXCHANGE_BOOKS);
  await inv.start();
  const outcomes = new Map<string, number>();
  let n = 0;
  const call = async (mode: string, name: string, body?: Buffer) => {
    const res = await fetch(`${h.url}/exchange/1c?type=sale&mode=${mode}&filename=${name}`, {
      method: body ? 'POST' : 'GET',
      headers: { cookie },
      body,
    });
    return {
      status: res.status,
      lines: iconv
        .decode(Buffer.from(await res.arrayBuffer()), /1251/.test(res.headers.get('content-type') ?? '') ? 'win1251' : 'utf8')
        .split('\n'),
    };
  };
  return {
    name: 'CommerceML',
    arbitrary: cmlCase,
    outcomes,
    async check(c) {
      const name = `fuzz-${++n}.${c.archive ? 'zip' : 'xml'}`;
      const bytes = c.archive ? c.archive.damage.reduce(mutateBytes, await zip(c.archive.entries)) : c.bytes;
      const what = `CommerceML ${name} (${c.label}, ${bytes.length} bytes)`;
      let r = await call('file', name, bytes);
      if (r.lines[0] === 'failure' && /Сеанс обмена/.test(r.lines[1] ?? '')) {
        cookie = await exchangeCookie(h);
        r = await call('file', name, bytes);
      }
      if (r.lines[0] === 'success') r = await call('import', name);
      const reason = r.lines.slice(1).join(' ');
      count(outcomes, `${r.lines[0]}${r.lines[0] === 'failure' ? `: ${reason.replace(/[«"].*$|\d+/g, '…').slice(0, 60)}` : ''}`);
      if (r.status !== 200 || !['success', 'failure'].includes(r.lines[0]))
        throw new Error(`${what}: ${r.status} ${r.lines.join(' ').slice(0, 500)}`);
      if (r.lines[0] === 'failure' && /Внутренняя ошибка|^Ошибка обработки файла/.test(reason))
        throw new Error(`${what}: not the gateway's own refusal: ${reason.slice(0, 500)}`);
      await inv.after(r.lines[0] === 'failure', what);
    },
    async close() {
      inv.close();
      await h.close();
    },
  };
}
