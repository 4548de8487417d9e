import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { openStore } from '../gateway/store/db';
import { ExchangeClient } from '../connectors/commerceml/exchange-client';
import { freePort } from '../test/helpers/harness';
import { sandboxConfig, SANDBOX } from '../test/sandbox/config';
import { profileIf } from './profile';
import { childExit, MINUTE, stopChild, unlessExits, until, within } from './wait';

/**
 * Import of a large orders file from 1C through the exchange endpoint (upload in `file_limit`
 * chunks, then `import` until success): MB/s and peak RSS, next to a plain saxes streaming parse
 * of the same file in the same run. Target: at least half saxes' throughput, peak RSS under 200 MB.
 */

const SIZE_MB = Number(process.env.BENCH_CML_MB ?? 200);
const ORDERS = 1000;

/** Deadlines: generous for a slow, busy two-core machine; the parse and the import grow with the file. */
const START_MS = 3 * MINUTE;
const SETUP_MS = 5 * MINUTE;
const PARSE_MS = 3 * MINUTE + SIZE_MB * 2000;
const EXCHANGE_MS = 5 * MINUTE + SIZE_MB * 5000;
const STOP_MS = 2 * MINUTE;

/** The `i`-th document about order `k`: 1C re-sends an order's same state again and again. */
function documentXml(i: number, k: number, number: string): string {
  const paid = k % 3 !== 0;
  const shipped = k % 5 === 0;
  return `  <Документ>
    <Ид>${number}</Ид>
    <НомерВерсии>AAAAEAAAAA${k % 10}=</НомерВерсии>
    <ПометкаУдаления>false</ПометкаУдаления>
    <Номер>${number}</Номер>
    <Номер1С>ЗК00-${String(k).padStart(6, '0')}</Номер1С>
    <Дата>2026-11-20</Дата>
    <Дата1С>2026-11-20</Дата1С>
    <Время>9:${String(k % 60).padStart(2, '0')}:07</Время>
    <ХозОперация>Заказ товара</ХозОперация>
    <Роль>Продавец</Роль>
    <Валюта>руб</Валюта>
    <Курс>1</Курс>
    <Сумма>3500.00</Сумма>
    <Контрагенты>
      <Контрагент>
        <Ид>c0ffee00-0000-4000-8000-${String(k).padStart(12, '0')}</Ид>
        <Наименование>Иван Петров</Наименование>
        <Роль>Покупатель</Роль>
        <ПолноеНаименование>Петров Иван Сергеевич</ПолноеНаименование>
        <ИНН/>
        <КПП/>
      </Контрагент>
    </Контрагенты>
    <Товары>
      <Товар>
        <Ид>kettle-01</Ид>
        <Наименование>Чайник электрический</Наименование>
        <БазоваяЕдиница Код="796" НаименованиеПолное="Штука" МеждународноеСокращение="PCE">шт</БазоваяЕдиница>
        <ЦенаЗаЕдиницу>1500</ЦенаЗаЕдиницу>
        <Количество>2</Количество>
        <Сумма>3000</Сумма>
        <ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>ВидНоменклатуры</Наименование><Значение>Товар</Значение></ЗначениеРеквизита></ЗначенияРеквизитов>
      </Товар>
      <Товар>
        <Ид>ORDER_DELIVERY</Ид>
        <Наименование>Доставка заказа</Наименование>
        <ЦенаЗаЕдиницу>500</ЦенаЗаЕдиницу>
        <Количество>1</Количество>
        <Сумма>500</Сумма>
        <ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>ВидНоменклатуры</Наименование><Значение>Услуга</Значение></ЗначениеРеквизита></ЗначенияРеквизитов>
      </Товар>
    </Товары>
    <ЗначенияРеквизитов>
      <ЗначениеРеквизита><Наименование>Проведен</Наименование><Значение>true</Значение></ЗначениеРеквизита>
      <ЗначениеРеквизита><Наименование>Статус заказа</Наименование><Значение>${paid ? 'К отгрузке' : 'Ожидается оплата'}</Значение></ЗначениеРеквизита>
      <ЗначениеРеквизита><Наименование>Оплачен</Наименование><Значение>${paid}</Значение></ЗначениеРеквизита>
      <ЗначениеРеквизита><Наименование>Номер оплаты по 1С</Наименование><Значение>${paid ? `ОП00-${String(k).padStart(6, '0')}` : ''}</Значение></ЗначениеРеквизита>
      <ЗначениеРеквизита><Наименование>Дата оплаты по 1С</Наименование><Значение>${paid ? '2026-11-21T9:49:02' : 'T'}</Значение></ЗначениеРеквизита>
      <ЗначениеРеквизита><Наименование>Отгружен</Наименование><Значение>${shipped}</Значение></ЗначениеРеквизита>
      <ЗначениеРеквизита><Наименование>Дата отгрузки по 1С</Наименование><Значение>${shipped ? '2026-11-22T10:00:00' : 'T'}</Значение></ЗначениеРеквизита>
    </ЗначенияРеквизитов>
  </Документ>
`;
}

/** A 1C upload of `mb` megabytes: the same orders over and over, as 1C re-sends unchanged ones. */
async function generate(path: string, mb: number, numbers: string[]): Promise<number> {
  const out = createWriteStream(path);
  let bytes = 0;
  const write = async (s: string) => {
    bytes += Buffer.byteLength(s);
    if (!out.write(s)) await once(out, 'drain');
  };
  await write(
    '\ufeff<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_210" ВерсияСхемы="2.08" ДатаФормирования="2026-11-23T10:00:00">\n',
  );
  let documents = 0;
  for (let i = 0; bytes < mb * 1024 * 1024; i++) {
    await write(documentXml(i, i % numbers.length, numbers[i % numbers.length]));
    documents++;
  }
  await write('</КоммерческаяИнформация>\n');
  out.end();
  await once(out, 'finish');
  return documents;
}

/** A process's peak resident set (VmHWM), MB. */
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** saxes over the file in a process of its own: its throughput and peak RSS are the baseline's. */
async function saxesProcess(file: string): Promise<{ seconds: number; documents: number; peakRssMb: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'saxes-child.ts'), file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await childExit('the saxes baseline process', child, PARSE_MS);
  if (code !== 0) throw new Error(`the saxes baseline process exited with code ${code}`);
  return JSON.parse(out);
}

export async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cml-'));
  const port = await freePort();
  const config = sandboxConfig({ port, databaseUrl: `sqlite:${dir}/gateway.db`, sberRestUrl: 'http://127.0.0.1:9/payment/rest/' });
  const raw = JSON.parse(JSON.stringify(config)) as Record<string, any>;
  raw.log.level = 'error';
  raw.exchange.bases[0].maxUploadMb = 1024;
  const configFile = join(dir, 'gateway.config.yaml');
  writeFileSync(configFile, stringify(raw));
  // the gateway in a process of its own, as it runs in production: its peak RSS is what is measured
  const gateway = spawn(process.execPath, [resolve(__dirname, '../bin/onec-gateway.js'), 'start'], {
    env: {
      ...process.env,
      GATEWAY_CONFIG: configFile,
      DATABASE_URL: '',
      REDIS_URL: '',
      PORT: '',
      NODE_OPTIONS: process.env.BENCH_GATEWAY_NODE_OPTIONS ?? '',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    return await measure(dir, url, gateway);
  } finally {
    // whatever happened, the gateway process does not outlive the benchmark
    if (gateway.exitCode === null && gateway.signalCode === null) gateway.kill('SIGKILL');
  }
}

async function measure(dir: string, url: string, gateway: ChildProcess): Promise<void> {
  await unlessExits(
    'the gateway process',
    gateway,
    until(
      `the gateway process to answer ${url}/health/live`,
      () =>
        fetch(`${url}/health/live`, { signal: AbortSignal.timeout(5000) }).then(
          (r) => r.ok,
          () => false,
        ),
      { timeoutMs: START_MS },
    ),
  );
  const auth = { authorization: `Bearer ${SANDBOX.siteKey}`, 'content-type': 'application/json' };
  const numbers: string[] = [];
  const createOrders = async () => {
    for (let i = 0; i < ORDERS; i++) {
      const number = `S${100000 + i}`;
      const r = await fetch(`${url}/api/v1/orders`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({
          externalId: number,
          number,
          customer: { type: 'individual', name: 'Иван Петров' },
          items: [
            { sku: 'kettle-01', name: 'Чайник', quantity: 2, price: 150000, amount: 300000, vat: 'vat22' },
            { sku: 'ORDER_DELIVERY', name: 'Доставка', quantity: 1, price: 50000, amount: 50000, vat: 'vat22', kind: 'service' },
          ],
          total: 350000,
        }),
      });
      if (!r.ok) throw new Error(`order: ${r.status}`);
      numbers.push(number);
    }
  };
  await within('site orders created', unlessExits('the gateway process', gateway, createOrders()), {
    timeoutMs: SETUP_MS,
    progress: () => ({ arrived: numbers.length, expected: ORDERS }),
  });
  const file = join(dir, 'orders.xml');
  const documents = await within(`the ${SIZE_MB} MB orders file to be written`, generate(file, SIZE_MB, numbers), { timeoutMs: PARSE_MS });
  const mb = statSync(file).size / 1024 / 1024;

  const base = await saxesProcess(file);
  const before = peakRssMb(gateway.pid!);
  const client = new ExchangeClient({ url: `${url}/exchange/1c`, user: SANDBOX.onecUser, password: SANDBOX.onecPassword });
  const stopProfile = await profileIf(process.env.BENCH_PROFILE);
  const started = performance.now();
  let uploadSeconds = 0;
  const exchange = async () => {
    await client.checkauth();
    await client.init();
    await client.uploadStream('orders.xml', file);
    uploadSeconds = (performance.now() - started) / 1000;
    return client.import('orders.xml', { maxPolls: 1000, pollDelayMs: 200 });
  };
  const notes = await within(
    `the exchange (upload and import of ${mb.toFixed(0)} MB)`,
    unlessExits('the gateway process', gateway, exchange()),
    { timeoutMs: EXCHANGE_MS },
  );
  const seconds = (performance.now() - started) / 1000;
  await stopProfile();
  const peak = peakRssMb(gateway.pid!);
  await stopChild('the gateway process', gateway, STOP_MS);
  const store = await openStore(`sqlite:${dir}/gateway.db`);
  const paid = Number(
    (
      await store.db
        .selectFrom('orders')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('onec_paid_at', 'is not', null)
        .executeTakeFirstOrThrow()
    ).n,
  );
  await store.close();
  rmSync(dir, { recursive: true, force: true });

  const line = (name: string, s: number, rss: number) =>
    `${name.padEnd(48)} ${(mb / s).toFixed(1).padStart(6)} MB/s   peak RSS ${rss.toFixed(0).padStart(4)} MB`;
  process.stdout.write(
    [
      `CommerceML import: ${mb.toFixed(0)} MB, ${documents} documents for ${ORDERS} orders`,
      line('baseline: saxes streaming parse', base.seconds, base.peakRssMb),
      line('gateway: upload + import through /exchange/1c', seconds, peak),
      `  the upload took ${uploadSeconds.toFixed(2)} s, the import ${(seconds - uploadSeconds).toFixed(2)} s; the gateway process held ${before.toFixed(0)} MB before the exchange`,
      `  saxes counted ${base.documents} documents; the import: ${notes[0] ?? ''}; ${paid} orders now carry 1C's payment`,
      `ratio ${(base.seconds / seconds).toFixed(3)} (target ≥ 0.5), gateway peak RSS ${peak.toFixed(0)} MB (target < 200 MB)`,
      '',
    ].join('\n'),
  );
}
